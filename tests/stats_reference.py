"""The statistics pass as it was (one event dict at a time): the oracle of the new one.

Kept as it was in `store/stats.py` before it was rewritten to read columns in batches
(12 s at a million events), but for the running streak, which lived on `ReviewerStats`;
`tests/unit_tests/test_stats_pass.py` holds the two equal.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from store.policy import normalise
from store.stats import OVERALL, CalibrationRow, ReviewerStats, Stats
from store.views import BINS


def band(confidence: float | None) -> str:
    """The calibration band a shown confidence falls in."""
    if confidence is None:
        return "unknown"
    if confidence < 0.5:
        return "<0.5"
    if confidence < 0.7:
        return "0.5-0.7"
    return "0.7-0.9" if confidence < 0.9 else ">=0.9"


Lookup = Callable[[int], dict[str, Any] | None]
"""Event by seq, or None if it is outside the events being counted."""


def compute(
    events: Iterable[dict[str, Any]],
    lookup: Lookup | None = None,
    contradicted: frozenset[int] = frozenset(),
    stood: frozenset[int] = frozenset(),
) -> Stats:
    """One pass over events (dicts with ledger columns and `model`) in chain order.

    A retraction (rare) subtracts the event it undoes, fetched through `lookup`.
    `contradicted` holds the events a confirmed incident names (`store.register`),
    `stood` those an unfounded one named.
    """
    overall = ReviewerStats(OVERALL)
    runs: dict[str, int] = {}
    reviewers: dict[str, ReviewerStats] = {}
    by_band: dict[str, CalibrationRow] = {name: CalibrationRow(name) for name in BINS}
    by_source: dict[str, CalibrationRow] = defaultdict(lambda: CalibrationRow(""))
    by_model: dict[str, CalibrationRow] = defaultdict(lambda: CalibrationRow(""))
    # "" opens a private temporary database on disk: its cache is small and fixed.
    scratch = sqlite3.connect("")
    scratch.execute("CREATE TABLE t (who TEXT, seq INTEGER, ms INTEGER)")
    scratch.execute("CREATE TABLE j (who TEXT, h INTEGER)")
    scratch.execute("BEGIN")

    # Rows for the scratch tables go in batches: one `execute` per event was a sixth of
    # the whole pass at a million events.
    timed: list[tuple[str, int, int]] = []
    hashed: list[tuple[str, int]] = []

    def flush() -> None:
        scratch.executemany("INSERT INTO t VALUES (?, ?, ?)", timed)
        scratch.executemany("INSERT INTO j VALUES (?, ?)", hashed)
        timed.clear()
        hashed.clear()

    def person(name: str) -> ReviewerStats:
        # Not `setdefault(name, ReviewerStats(name))`: that built (and threw away) a
        # ReviewerStats with two Counters for every event.
        found = reviewers.get(name)
        if found is None:
            found = reviewers[name] = ReviewerStats(name)
        return found

    def count(event: dict[str, Any], sign: int, planted: bool = False) -> None:
        who = person(event["reviewer"])
        for stats in (who, overall):
            stats.actions[event["action"]] += sign
        if sign > 0:
            timed.append((event["reviewer"], event["seq"], event["time_on_item_ms"]))
        else:
            flush()
            scratch.execute("DELETE FROM t WHERE seq = ?", (event["seq"],))
        overridden = event["action"] in ("override", "reject")
        wrong = event["seq"] in contradicted
        agreed = event["action"] == "approve"
        for stats in (who, overall):
            stats.contradicted += sign * wrong
            if planted:
                stats.caught += sign * (not agreed)  # as `planted_caught`: escalating counts
                stats.missed += sign * agreed
            elif wrong:
                stats.missed += sign * agreed
                stats.overrode_right += sign * (not agreed and event["action"] != "escalate")
            elif agreed and event["seq"] in stood:
                stats.kept_right += sign
        if planted:
            return  # a planted draft is wrong on purpose: it says nothing of the AI
        for row in (
            by_band[band(event["shown_confidence"])],
            _named(by_source, event["source"]),
            _named(by_model, event.get("model") or "unknown"),
        ):
            row.decisions += sign
            row.overridden += sign * overridden
            row.contradicted += sign * wrong

    total = 0
    for event in events:
        total += 1
        who = person(event["reviewer"])
        for stats in (who, overall):
            _streaks(stats, event["action"], runs)
        hashed.append((event["reviewer"], hash(normalise(event["justification"]))))
        if len(hashed) >= 10_000:
            flush()
        planted = bool(event.get("oversight")) and _oversight(
            who, overall, json.loads(event["oversight"])
        )
        if event["action"] != "retract":
            count(event, +1, planted)
            continue
        for stats in (who, overall):
            stats.actions["retract"] += 1
        undone = lookup(event["retracts"]) if lookup is not None else None
        if undone is not None:
            count(undone, -1)
    flush()
    _finish(scratch, overall, reviewers)
    scratch.close()
    return Stats(overall, reviewers, by_band, dict(by_source), dict(by_model), total)


def _oversight(who: ReviewerStats, overall: ReviewerStats, record: dict[str, Any]) -> bool:
    """Count one event's oversight record; returns whether it was a planted draft."""
    planted = record.get("planted")
    first = record.get("commit_first")
    raised = record.get("friction_raised")
    stage = record.get("two_person") or {}
    for stats in (who, overall):
        if planted:
            stats.planted_seen += 1
            stats.planted_caught += bool(planted.get("caught"))
        if first:
            stats.commit_first += 1
            stats.moved_toward_ai += first.get("moved_toward_ai") is True
        if raised:
            stats.friction_raised += 1
            stats.signals.update(raised.get("signals", ()))
        if stage.get("stage") == 2:
            stats.second_reviews += 1
            stats.disagreements += not stage.get("agreed")
    return bool(planted)


def _finish(
    scratch: sqlite3.Connection, overall: ReviewerStats, reviewers: dict[str, ReviewerStats]
) -> None:
    scratch.execute("CREATE INDEX t_who_ms ON t (who, ms)")
    for who, total, distinct in scratch.execute(
        "SELECT who, count(*), count(DISTINCT h) FROM j GROUP BY who"
    ).fetchall():
        reviewers[who].justified, reviewers[who].repeated = total, total - distinct
    # Overall, a repeat is a repeat by the same reviewer (others may say the same thing).
    overall.justified = sum(r.justified for r in reviewers.values())
    overall.repeated = sum(r.repeated for r in reviewers.values())
    for stats in (*reviewers.values(), overall):
        where, args = ("", ()) if stats is overall else ("WHERE who = ?", (stats.reviewer,))
        n = scratch.execute(f"SELECT count(*) FROM t {where}", args).fetchone()[0]
        stats.median_ms = _quantile(scratch, where, args, n, 0.5)
        stats.p10_ms = _quantile(scratch, where, args, n, 0.1)


def _quantile(
    scratch: sqlite3.Connection, where: str, args: tuple[str, ...], n: int, q: float
) -> float | None:
    """Linear-interpolated quantile (statistics' "inclusive" method), read by offset."""
    if n == 0:
        return None
    position = (n - 1) * q
    low = int(position)
    values = [row[0] for row in scratch.execute(
        f"SELECT ms FROM t {where} ORDER BY ms LIMIT 2 OFFSET ?", (*args, low)
    )]  # fmt: skip
    high = values[1] if len(values) > 1 else values[0]
    return float(values[0] + (high - values[0]) * (position - low))


def _named(table: dict[str, CalibrationRow], key: str) -> CalibrationRow:
    row = table[key]
    row.group = key
    return row


def _streaks(stats: ReviewerStats, action: str, runs: dict[str, int]) -> None:
    # The running streak lived on ReviewerStats as `_streak`; the new pass keeps its own.
    if action == "approve":
        runs[stats.reviewer] = runs.get(stats.reviewer, 0) + 1
        stats.longest_approve_streak = max(stats.longest_approve_streak, runs[stats.reviewer])
    else:
        runs[stats.reviewer] = 0
