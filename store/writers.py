"""Writers for `signoff export`: each streams events to a text stream and returns a count."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, Final

from providers.text import counted, visible
from store.csv_cells import csv_lines
from store.export import (
    ExportFilter,
    csv_rows,
    events,
    jsonl_line,
    planted_events_exist,
    stats_for,
)
from store.stats import Stats
from store.views import BINS

if TYPE_CHECKING:
    from store.db import Connection

CSV_COLUMNS: Final = (
    "seq", "recorded_at", "reviewer", "action", "source", "external_id", "title", "kind",
    "stakes", "model", "shown_confidence", "shown_basis", "shown_limits", "justification",
    "reason_code", "output", "draft", "time_on_item_ms", "retracts", "claim_id",
    "draft_sha256", "prev_hash", "oversight", "hash",
)  # fmt: skip
CSV_BATCH: Final = 128
"""Rows per batch of the CSV export (see `write_csv`)."""


def write_jsonl(stream: IO[str], rows: Iterable[dict[str, Any]]) -> int:
    """The canonical record: one event per line, exactly as hashed."""
    count = 0
    for event in rows:
        stream.write(jsonl_line(event))
        count += 1
    return count


def write_csv(stream: IO[str], conn: Connection, where: ExportFilter) -> int:
    """One row per event; text that a spreadsheet would run as a formula is neutralised.

    Read and written in batches of `CSV_BATCH` rows, a column at a time
    (`store.csv_cells`). Small batches on purpose: at a million events, batches of
    4,096 rows took 12.4 s and batches of 128 5.4 s (what a batch made no longer fit
    the processor's caches while it was written).
    """
    stream.write(csv_lines([[name] for name in CSV_COLUMNS]))
    count = 0
    limits_at = CSV_COLUMNS.index("shown_limits")
    with csv_rows(conn, where) as cursor:
        while batch := cursor.fetchmany(CSV_BATCH):
            columns: list[Sequence[object]] = list(zip(*batch, strict=True))
            limits = columns[limits_at]
            columns[limits_at] = (
                [""] * len(limits) if limits.count("[]") == len(limits)
                else [_limits_line(str(x)) for x in limits]
            )  # fmt: skip
            stream.write(csv_lines(columns))
            count += len(batch)
    return count


def _limits_line(limits_json: str) -> str:
    if limits_json == "[]":
        return ""
    return "; ".join(
        f"{x['severity']}: {x['kind']}: {x['detail']}" for x in json.loads(limits_json)
    )


def write_md(stream: IO[str], conn: Connection, where: ExportFilter, *, title: str) -> int:
    """A report for a lead: summary tables first, then every decision in full."""
    stats = stats_for(conn, where)
    stream.write(f"# {_md(title)}\n\n")
    described = _describe(where, planted_events_exist(conn))
    stream.write(f"{counted(stats.events, 'event')}. Filter: {_md(described)}.\n\n")
    _summary(stream, stats)
    stream.write("## Decisions\n\n")
    count = 0
    for event in events(conn, where):
        count += 1
        _decision(stream, event)
    return count


def _summary(stream: IO[str], stats: Stats) -> None:
    everyone = (*sorted(stats.reviewers.values(), key=lambda r: r.reviewer), stats.overall)
    # Catches first: agreement with the AI only where it is known whether the AI was right.
    stream.write(
        "## Catches first: where it is known whether the AI was right\n\n"
        "| reviewer | AI wrong: caught | AI wrong: approved anyway | AI right: agreed "
        "| AI right: overridden anyway |\n|---|--:|--:|--:|--:|\n"
    )
    for who in everyone:
        stream.write(f"| {_md(who.reviewer)} | {who.caught} | {who.missed} | {who.kept_right} "
                     f"| {who.overrode_right} |\n")  # fmt: skip
    stream.write("\n## Reviewers\n\n")
    stream.write(
        "| reviewer | approve | edit | override | reject | escalate | retract "
        "| median s | p10 s | longest approve streak | repeated justifications |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
    )
    for who in everyone:
        cells = [str(who.actions.get(a, 0)) for a in
                 ("approve", "edit", "override", "reject", "escalate", "retract")]  # fmt: skip
        stream.write(
            f"| {_md(who.reviewer)} | {' | '.join(cells)} | {_secs(who.median_ms)} "
            f"| {_secs(who.p10_ms)} | {who.longest_approve_streak} "
            f"| {who.repeat_share:.0%} |\n"
        )
    stream.write("\n## Calibration: overridden or rejected, by confidence shown\n\n")
    stream.write("| confidence | decisions | overridden or rejected | rate |\n|---|--:|--:|--:|\n")
    for name in BINS:
        row = stats.by_band[name]
        stream.write(f"| {name} | {row.decisions} | {row.overridden} | {row.rate:.0%} |\n")
    for label, table in (("source", stats.by_source), ("model", stats.by_model)):
        stream.write(
            f"\n### By {label}\n\n| {label} | decisions | overridden or rejected "
            "| rate |\n|---|--:|--:|--:|\n"
        )
        for key in sorted(table):
            row = table[key]
            stream.write(f"| {_md(key)} | {row.decisions} | {row.overridden} | {row.rate:.0%} |\n")
    stream.write("\n")


def _decision(stream: IO[str], event: dict[str, Any]) -> None:
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


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def _md(text: str) -> str:
    """Untrusted inline text: visible, and no Markdown or HTML can take effect."""
    return _MD_SPECIAL.sub(r"\\\1", visible(str(text)))


def _fence(text: str) -> str:
    """Untrusted block text in a code fence longer than any backtick run inside it."""
    body = visible(text, multiline=True)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}\n\n"


def _secs(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}"


def _describe(where: ExportFilter, planted_exist: bool) -> str:
    parts = [f"{k} {v}" for k, v in where.as_json(planted_exist=planted_exist).items()]
    return ", ".join(parts) or "all events"
