"""The Markdown report's text: untrusted text made inert, and its decisions a batch at a time.

Every piece of untrusted text in a report is made visible (`providers.text.visible`) and
then either escaped inline (`md`) or put in a code fence longer than any backtick run in
it (`fence`). Written one event at a time, that was two regular-expression passes per
field, a dict per event and a JSON parse of its data limits: a million-event report took
45 s. Here a column of a batch is checked with one search over the column's cells
joined, and only columns with something to change are done cell by cell (as
`store.csv_cells` does for CSV). `tests/unit_tests/test_md_cells.py` holds the
one-event-at-a-time writer (`tests/md_reference.py`) as the oracle, byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from providers.text import is_visible, visible

MD_COLUMNS: Final = (
    "seq", "action", "external_id", "reviewer", "recorded_at", "time_on_item_ms", "title",
    "source", "kind", "stakes", "model", "shown_confidence", "shown_basis", "shown_limits",
    "reason_code", "retracts", "justification", "draft", "output", "hash",
)  # fmt: skip
"""What a report's decision shows of each event, in the order `decisions` reads it."""
MD_BATCH: Final = 128
"""Events per batch (small, as CSV's: a batch that fits the processor's caches)."""

_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
"""Markdown and HTML punctuation: escaped with a backslash in inline text."""
_BACKTICKS: Final = re.compile(r"`+")


def md(text: object) -> str:
    """Untrusted inline text: visible, and no Markdown or HTML can take effect."""
    return _SPECIAL.sub(r"\\\1", visible(str(text)))


def fence(text: str) -> str:
    """Untrusted block text in a code fence longer than any backtick run inside it."""
    body = visible(text, multiline=True)
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{body}\n{ticks}\n\n"


def _inline(cells: Sequence[str]) -> Sequence[str]:
    """`md` of each cell; the cells themselves when the whole column needs nothing done.

    Joined by a space, which neither escaping nor `visible` touches: when neither
    changes the joined column, neither changes any of its cells.
    """
    joined = " ".join(cells)
    if _SPECIAL.search(joined) is None and is_visible(joined):
        return cells
    return [md(cell) for cell in cells]


def _fenced(cells: Sequence[str]) -> Sequence[str]:
    """`fence` of each cell, without a search of each when the column needs none.

    A column with no backtick and nothing `visible` would change is fenced with three
    backticks around each cell as it is.
    """
    joined = "\n".join(cells)  # a newline is kept by `visible(multiline=True)`
    if "`" in joined or not is_visible(joined, multiline=True):
        return [fence(cell) for cell in cells]
    return [f"```text\n{cell}\n```\n\n" for cell in cells]


def _limits(cells: Sequence[str]) -> list[str]:
    """Each event's data limits as shown: parsed once per distinct text in the batch."""
    said: dict[str, str] = {"[]": "none reported"}
    out = []
    for text in cells:
        line = said.get(text)
        if line is None:
            line = said[text] = (
                "; ".join(
                    f"{x['severity']} {md(x['kind'])}: {md(x['detail'])}" for x in json.loads(text)
                )
                or "none reported"
            )
        out.append(line)
    return out


def decisions(batch: Sequence[Sequence[Any]]) -> str:
    """The report's section for each event of a batch (rows in `MD_COLUMNS` order)."""
    if not batch:
        return ""
    (seqs, actions, ids, reviewers, stamps, spent, titles, sources, kinds, stakes, models,
     shown, bases, limits, reasons, retracts, said, drafts, outputs, hashes) = zip(
        *batch, strict=True
    )  # fmt: skip
    ids_md, who_md = _inline(list(map(str, ids))), _inline(list(map(str, reviewers)))
    titles_md = _inline([str(x) if x else "(untitled)" for x in titles])
    sources_md, kinds_md = _inline(list(map(str, sources))), _inline(list(map(str, kinds)))
    models_md = _inline([str(x) if x else "?" for x in models])
    reasons_md = _inline([str(x) for x in reasons if x])
    justifications = _fenced(said)
    shown_drafts = _fenced([d for d, a in zip(drafts, actions, strict=True) if a != "retract"])
    changed = [o for o, d in zip(outputs, drafts, strict=True) if o is not None and o != d]
    finals = iter(_fenced(changed))
    reasons_at, drafts_at = iter(reasons_md), iter(shown_drafts)
    parts: list[str] = []
    for n, row in enumerate(zip(seqs, actions, stamps, spent, stakes, shown, bases,
                                _limits(limits), strict=True)):  # fmt: skip
        seq, action, stamp, ms, stake, conf, basis, limit = row
        confidence = "unknown" if conf is None else f"{conf:.2f} ({basis})"
        parts.append(
            f"### {seq} · {action} · {ids_md[n]}\n\n"
            f"- reviewer: {who_md[n]}, {stamp}, {ms / 1000:.0f} s on the item\n"
            f"- item: {titles_md[n]} — {sources_md[n]}, {kinds_md[n]}, {stake} stakes, model "
            f"{models_md[n]}\n- confidence shown: {confidence}\n- data limits shown: {limit}\n"
        )
        if reasons[n]:
            parts.append(f"- reason: {next(reasons_at)}\n")
        if retracts[n]:
            parts.append(f"- retracts event {retracts[n]}\n")
        parts.append("\nJustification:\n\n" + justifications[n])
        if action != "retract":
            parts.append("Draft:\n\n" + next(drafts_at))
        if outputs[n] is not None and outputs[n] != drafts[n]:
            parts.append("Final output:\n\n" + next(finals))
        parts.append(f"`hash {hashes[n]}`\n\n")
    return "".join(parts)
