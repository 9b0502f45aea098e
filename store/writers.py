"""Writers for `signoff export`: each streams events to a text stream and returns a count."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, Final, cast

from providers.text import counted
from store.csv_cells import csv_lines, float_cells
from store.export import (
    ExportFilter,
    event_rows,
    jsonl_line,
    planted_events_exist,
    stats_for,
)
from store.md_cells import MD_BATCH, MD_COLUMNS, decisions, md
from store.pg import PgConnection
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


def write_csv(
    stream: IO[str], conn: Connection, where: ExportFilter, *, header: bool = True
) -> int:
    """One row per event; text that a spreadsheet would run as a formula is neutralised.

    Read and written in batches of `CSV_BATCH` rows, a column at a time
    (`store.csv_cells`). Small batches on purpose: at a million events, batches of
    4,096 rows took 12.4 s and batches of 128 5.4 s (what a batch made no longer fit
    the processor's caches while it was written). Numbers are read as the server's
    text where that is exact (`_csv_reads`).
    """
    if header:
        stream.write(csv_lines([[name] for name in CSV_COLUMNS]))
    count = 0
    limits_at = CSV_COLUMNS.index("shown_limits")
    as_text = numbers_as_text(conn)
    reads = _csv_reads(as_text)
    confidence_at = CSV_COLUMNS.index("shown_confidence")
    cells_at = frozenset(CSV_COLUMNS.index(name) for name in _NUMBERS) if as_text else ()
    with event_rows(conn, where, CSV_COLUMNS, reads) as cursor:
        while batch := cursor.fetchmany(CSV_BATCH):
            columns: list[Sequence[object]] = list(zip(*batch, strict=True))
            limits = columns[limits_at]
            columns[limits_at] = (
                [""] * len(limits) if limits.count("[]") == len(limits)
                else [_limits_line(str(x)) for x in limits]
            )  # fmt: skip
            if as_text:
                columns[confidence_at] = float_cells(cast("Sequence[str]", columns[confidence_at]))
            stream.write(csv_lines(columns, cells_at))
            count += len(batch)
    return count


_NUMBERS: Final = ("seq", "shown_confidence", "time_on_item_ms", "retracts", "claim_id")
"""The CSV's number columns (integers, and the confidence, a double)."""
_NULLABLE_TEXT: Final = ("reason_code", "output", "oversight")


def numbers_as_text(conn: Connection) -> bool:
    """Whether `conn` reads numbers as text exactly (`PgConnection.numbers_as_text_exact`).

    Never on SQLite: a column there keeps whatever type each value was given.
    """
    return isinstance(conn, PgConnection) and conn.numbers_as_text_exact


def _csv_reads(as_text: bool) -> dict[str, str]:
    """How `write_csv` reads its columns where SQL leaves less to do here, exactly.

    A NULL text is read as '' on both engines: each is written as an empty cell, and
    a column all text takes `csv_cells.column`'s quick way. Where a number's text is
    what `str` of the number read would be (`PgConnection.numbers_as_text_exact`: the
    server keeps each column's type, where SQLite keeps whatever it was given), the
    numbers are read as text and written as they come (`csv_cells.float_cells` for
    the confidence).
    """
    reads = dict.fromkeys(_NULLABLE_TEXT, "COALESCE({}, '')")
    if as_text:
        reads |= dict.fromkeys(_NUMBERS, "COALESCE(CAST({} AS TEXT), '')")
    return reads


def _limits_line(limits_json: str) -> str:
    if limits_json == "[]":
        return ""
    return "; ".join(
        f"{x['severity']}: {x['kind']}: {x['detail']}" for x in json.loads(limits_json)
    )


def write_md(stream: IO[str], conn: Connection, where: ExportFilter, *, title: str) -> int:
    """A report for a lead: summary tables first, then every decision in full.

    The decisions are read and written `MD_BATCH` at a time (`store.md_cells`).
    """
    write_md_head(stream, conn, where, title=title)
    return write_md_decisions(stream, conn, where)


def write_md_head(stream: IO[str], conn: Connection, where: ExportFilter, *, title: str) -> None:
    """The report's title, filter and summary tables, up to its decisions."""
    stats = stats_for(conn, where)
    stream.write(f"# {md(title)}\n\n")
    described = _describe(where, planted_events_exist(conn))
    stream.write(f"{counted(stats.events, 'event')}. Filter: {md(described)}.\n\n")
    _summary(stream, stats)
    stream.write("## Decisions\n\n")


def write_md_decisions(stream: IO[str], conn: Connection, where: ExportFilter) -> int:
    """The report's decisions, each in full (a range of them renders on its own)."""
    count = 0
    with event_rows(conn, where, MD_COLUMNS) as cursor:
        while batch := cursor.fetchmany(MD_BATCH):
            stream.write(decisions(batch))
            count += len(batch)
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
        stream.write(f"| {md(who.reviewer)} | {who.caught} | {who.missed} | {who.kept_right} "
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
            f"| {md(who.reviewer)} | {' | '.join(cells)} | {_secs(who.median_ms)} "
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
            stream.write(f"| {md(key)} | {row.decisions} | {row.overridden} | {row.rate:.0%} |\n")
    stream.write("\n")


def _secs(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}"


def _describe(where: ExportFilter, planted_exist: bool) -> str:
    parts = [f"{k} {v}" for k, v in where.as_json(planted_exist=planted_exist).items()]
    return ", ".join(parts) or "all events"
