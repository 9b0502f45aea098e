"""The batch-at-a-time Markdown decisions against the one-event-at-a-time oracle."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from store.md_cells import MD_COLUMNS, decisions
from tests.md_reference import decision

# Characters that change how text is written: Markdown punctuation, backtick runs,
# controls, bidi and invisible characters, the batch's own separators, non-ASCII.
HOSTILE = [
    *"\\`*_{}[]()<>#+!|~", "``", "```", "\x00", "\x1b", "\n", "\t", "\r", "\x7f", "\x85",
    "\u202e", "\u200b", "\ufeff", "\U000e0041", " ", "é", "Ω", "—", "\x1f",
]  # fmt: skip
LETTERS = list("abcXYZ019 .,:-")
ACTIONS = ("approve", "edit", "override", "reject", "escalate", "retract")


def _text(rng: random.Random, hostile: bool, most: int = 14) -> str:
    alphabet = HOSTILE + LETTERS if hostile else LETTERS
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, most)))


def _event(rng: random.Random, seq: int, style: dict[str, bool]) -> dict[str, Any]:
    """One event; `style` says which fields of this batch carry hostile text."""
    action = rng.choice(ACTIONS)
    draft = _text(rng, style["draft"], 40)
    output = rng.choice([None, draft, _text(rng, style["output"], 30)])
    limits = rng.choice([[], [], [{"severity": "warn", "kind": _text(rng, style["limits"]),
                                   "detail": _text(rng, style["limits"])}]])  # fmt: skip
    return {
        "seq": seq, "action": action,
        "external_id": _text(rng, style["external_id"]) or "T-1",
        "reviewer": _text(rng, style["reviewer"]) or "ana",
        "recorded_at": "2026-11-30T10:00:00.000000Z",
        "time_on_item_ms": rng.randint(0, 90_000),
        "title": rng.choice([None, "", _text(rng, style["title"])]),
        "source": _text(rng, style["source"]) or "support",
        "kind": rng.choice(["text", "score", _text(rng, style["kind"]) or "label"]),
        "stakes": rng.choice(["low", "medium", "high"]),
        "model": rng.choice([None, "", _text(rng, style["model"])]),
        "shown_confidence": rng.choice([None, rng.random()]),
        "shown_basis": rng.choice(["provider", "logprobs"]),
        "shown_limits": json.dumps(limits),
        "reason_code": rng.choice([None, "", _text(rng, style["reason_code"]) or "x"]),
        "retracts": rng.choice([None, None, rng.randint(1, seq)]),
        "justification": _text(rng, style["justification"], 60) or "checked",
        "draft": draft, "output": output,
        "hash": f"{rng.getrandbits(64):016x}",
    }  # fmt: skip


FIELDS = ("external_id", "reviewer", "title", "source", "kind", "model", "reason_code",
          "justification", "draft", "output", "limits")  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_batches_are_written_exactly_as_one_event_at_a_time(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        # Mostly clean columns, as a real batch's are, so both of each column's paths
        # (nothing to change, and cell by cell) run, and with hostile text where it hides.
        style = {name: rng.random() < 0.25 for name in FIELDS}
        events = [_event(rng, n, style) for n in range(1, rng.randint(1, 40))]
        rows = [tuple(event[name] for name in MD_COLUMNS) for event in events]
        assert decisions(rows) == "".join(map(decision, events))


def test_untrusted_text_stays_inert() -> None:
    event = _event(random.Random(1), 1, dict.fromkeys(FIELDS, False))
    event.update(title="[x](http://a) <b>\u202e", justification="``` end\x1b[2J")
    out = decisions([tuple(event[name] for name in MD_COLUMNS)])
    assert "\\[x\\]\\(http://a\\) \\<b\\>⟨U\\+202E⟩" in out
    assert "````text\n``` end␛\\[2J\n````" not in out  # the escape, not a bracket
    assert "````text\n``` end␛[2J\n````" in out
    assert "\x1b" not in out
    assert "\u202e" not in out
