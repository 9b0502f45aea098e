"""AI use cards: configured per source, shown beside the item, stamped into the record."""

from __future__ import annotations

import json
from pathlib import Path

from store import Store
from store.cards import card_hash
from tests.conftest import FakeClock, make_draft
from tests.unit_tests.test_cli import run
from tests.unit_tests.test_cli_mistakes import one_line_error

CARD = """
[use_cards.support]
purpose = "Drafts replies to billing tickets; a person sends them."
owner = "Head of Support (dana@example.org)"
model = "gpt-4o-mini"
known_limits = ["CRM snapshot is a day old", "no access to payment disputes"]
review_steps = ["every reply is read and justified before it is sent"]
"""


def test_a_decision_records_the_card_in_force_and_a_changed_card_is_a_new_version(
    db_target: Path | str, clock: FakeClock
) -> None:
    card = {"purpose": "Replies to billing tickets", "owner": "dana"}
    with Store(db_target, now=clock) as store:
        store.use_cards = {"support": card_hash(card)}
        store.ingest([make_draft("T-1"), make_draft("T-2"), make_draft("L-1", source="leads")])
        events = []
        for n in range(3):
            claim = store.claim_next("alice")
            assert claim is not None
            why = f"Alice wants a lead to see item number {n}"
            events.append(store.decide(claim, "escalate", why))
        stamped = {e.external_id: (e.oversight or {}).get("use_card") for e in events}
        assert stamped == {"T-1": card_hash(card), "T-2": card_hash(card), "L-1": None}
        assert store.verify_chain().ok  # the stamp is hashed with the event
    assert card_hash({**card, "owner": "erin"}) != card_hash(card)
    assert card_hash(dict(reversed(card.items()))) == card_hash(card)


def test_the_config_card_reaches_the_ledger_and_the_manifest(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CARD)
    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1")])
        store.decide(store.claim_next("alice"), "escalate", "Needs a lead: refund above limit")  # type: ignore[arg-type]
    # (That decision had no card: the card applies from when it is configured.)
    out = tmp_path / "log.jsonl"
    assert run("export", "--db", str(db), "-o", str(out), "--config", str(config)).returncode == 0
    manifest = json.loads((tmp_path / "log.jsonl.manifest.json").read_text())
    assert list(manifest["use_cards"]) == ["support"]
    assert len(manifest["use_cards"]["support"]) == 64
    config.write_text(CARD.replace('owner = "Head of Support (dana@example.org)"\n', ""))
    one_line_error(run("status", "--db", str(db), "--config", str(config)), 2,
                   contains="owner")  # fmt: skip
