"""A report's decision as it was written one event at a time: the oracle of the batches.

Kept as it was in `store/writers.py` before `store.md_cells` wrote a batch a column at
a time (45 s for a million events); `tests/unit_tests/test_md_cells.py` holds the two
equal, byte for byte.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from providers.text import visible

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", visible(str(text)))


def _fence(text: str) -> str:
    body = visible(text, multiline=True)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}\n\n"


def decision(event: dict[str, Any]) -> str:
    """One event's section of the report."""
    stream = io.StringIO()
    conf = event["shown_confidence"]
    shown = "unknown" if conf is None else f"{conf:.2f} ({event['shown_basis']})"
    stream.write(
        f"### {event['seq']} · {event['action']} · {_md(event['external_id'])}\n\n"
        f"- reviewer: {_md(event['reviewer'])}, {event['recorded_at']}, "
        f"{event['time_on_item_ms'] / 1000:.0f} s on the item\n"
        f"- item: {_md(event['title'] or '(untitled)')} — {_md(event['source'])}, "
        f"{_md(event['kind'])}, {event['stakes']} stakes, model {_md(event['model'] or '?')}\n"
        f"- confidence shown: {shown}\n"
    )
    limits = json.loads(event["shown_limits"])
    stream.write(
        "- data limits shown: "
        + ("none reported" if not limits else "; ".join(
            f"{x['severity']} {_md(x['kind'])}: {_md(x['detail'])}" for x in limits))
        + "\n"
    )  # fmt: skip
    if event["reason_code"]:
        stream.write(f"- reason: {_md(event['reason_code'])}\n")
    if event["retracts"]:
        stream.write(f"- retracts event {event['retracts']}\n")
    stream.write("\nJustification:\n\n" + _fence(event["justification"]))
    if event["action"] != "retract":
        stream.write("Draft:\n\n" + _fence(event["draft"]))
    if event["output"] is not None and event["output"] != event["draft"]:
        stream.write("Final output:\n\n" + _fence(event["output"]))
    stream.write(f"`hash {event['hash']}`\n\n")
    return stream.getvalue()
