"""Oversight statistics over the ledger: per-reviewer habits and AI calibration.

Computed in one streaming pass in chain order. Retracted decisions are left out of
the figures (they were undone); retractions themselves are counted. The two things
that grow with the ledger — every time on item (for percentiles) and a hash of every
justification (for repeats) — go to a private scratch database on disk, so memory
stays flat whatever the ledger's length.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from store.oversight import wilson
from store.policy import normalise
from store.views import BINS

OVERALL: Final = "all reviewers"


def band(confidence: float | None) -> str:
    """The calibration band a shown confidence falls in."""
    if confidence is None:
        return "unknown"
    if confidence < 0.5:
        return "<0.5"
    if confidence < 0.7:
        return "0.5-0.7"
    return "0.7-0.9" if confidence < 0.9 else ">=0.9"


@dataclass
class ReviewerStats:
    """One reviewer's decisions and habits (or everyone's, as `overall`)."""

    reviewer: str
    actions: Counter[str] = field(default_factory=Counter)
    """Decisions by action (retracted ones excluded), plus `retract`."""
    longest_approve_streak: int = 0
    justified: int = 0
    """Events with a justification (all of them)."""
    repeated: int = 0
    """Justifications that repeat one of the reviewer's earlier ones (normalised)."""
    median_ms: float | None = None
    """Median time on item of the decisions that stand."""
    p10_ms: float | None = None
    """10th percentile of time on item: how fast the fastest decisions are."""
    planted_seen: int = 0
    """Planted catch-trial drafts decided."""
    planted_caught: int = 0
    """Of those, not approved (rejected, edited, overridden or escalated)."""
    friction_raised: int = 0
    """Times rubber-stamp signals raised friction."""
    signals: Counter[str] = field(default_factory=Counter)
    """Which signals fired, how often."""
    commit_first: int = 0
    """Decisions taken commit-first (own judgement before the draft)."""
    moved_toward_ai: int = 0
    """Commit-first decisions that moved from the reviewer's judgement to the AI's."""
    second_reviews: int = 0
    """Second reviews under the two-person rule."""
    disagreements: int = 0
    """Second reviews that disagreed with the first reviewer."""
    contradicted: int = 0
    """Decisions (standing) that an incident a lead confirmed showed to be wrong."""
    # Agreement with the AI, split by whether the AI is known to have been right: a
    # catch trial is wrong by construction; a lead's resolved incident says whether a
    # decision was wrong (confirmed) or stood (unfounded). Raw agreement is never a target.
    caught: int = 0
    """The AI was known wrong and the reviewer did not go along (catches)."""
    missed: int = 0
    """The AI was known wrong and the reviewer approved it."""
    kept_right: int = 0
    """The AI was known right (an approval that stood scrutiny) and the reviewer agreed."""
    overrode_right: int = 0
    """The reviewer changed or refused the AI, and a confirmed incident says wrongly."""
    _streak: int = 0

    @property
    def decisions(self) -> int:
        """Decisions that stand (not retracted)."""
        return sum(n for action, n in self.actions.items() if action != "retract")

    @property
    def catch_rate(self) -> float | None:
        """Planted drafts caught per planted draft seen; None before the first."""
        return self.planted_caught / self.planted_seen if self.planted_seen else None

    @property
    def catch_interval(self) -> tuple[float, float] | None:
        """95 % Wilson interval of the catch rate (honest about small counts)."""
        return wilson(self.planted_caught, self.planted_seen)

    @property
    def repeat_share(self) -> float:
        """Share of justifications that repeat an earlier one."""
        return self.repeated / self.justified if self.justified else 0.0


@dataclass
class CalibrationRow:
    """How often reviewers overrode or rejected the AI within one group."""

    group: str
    decisions: int = 0
    overridden: int = 0
    """Overrides plus rejections."""
    contradicted: int = 0
    """Decisions later contradicted by a confirmed incident."""

    @property
    def rate(self) -> float:
        """Overrides and rejections per decision."""
        return self.overridden / self.decisions if self.decisions else 0.0


@dataclass
class Stats:
    """Everything `signoff stats` and the Stats screen show."""

    overall: ReviewerStats
    reviewers: dict[str, ReviewerStats]
    by_band: dict[str, CalibrationRow]
    by_source: dict[str, CalibrationRow]
    by_model: dict[str, CalibrationRow]
    events: int


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
            _streaks(stats, event["action"])
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


def _streaks(stats: ReviewerStats, action: str) -> None:
    if action == "approve":
        stats._streak += 1
        stats.longest_approve_streak = max(stats.longest_approve_streak, stats._streak)
    else:
        stats._streak = 0
