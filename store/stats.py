"""Oversight statistics over the ledger: per-reviewer habits and AI calibration.

Computed in one streaming pass in chain order. Retracted decisions are left out of
the figures (they were undone); retractions themselves are counted.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from store.policy import normalise

BANDS: Final = ("<0.5", "0.5-0.7", "0.7-0.9", ">=0.9", "unknown")


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
    times_ms: array[int] = field(default_factory=lambda: array("L"))
    """Times on item, 8 bytes each (a list of ints would cost about 36)."""
    longest_approve_streak: int = 0
    repeated: int = 0
    """Justifications that repeat one of the reviewer's earlier ones (normalised)."""
    justified: int = 0
    _streak: int = 0
    _seen: set[int] = field(default_factory=set)

    @property
    def decisions(self) -> int:
        """Decisions that stand (not retracted)."""
        return sum(n for action, n in self.actions.items() if action != "retract")

    @property
    def median_ms(self) -> float | None:
        """Median time on item."""
        return _quantile(self.times_ms, 0.5)

    @property
    def p10_ms(self) -> float | None:
        """10th percentile of time on item: how fast the fastest decisions are."""
        return _quantile(self.times_ms, 0.1)

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


def compute(events: Iterable[dict[str, Any]], lookup: Lookup | None = None) -> Stats:
    """One pass over events (dicts with ledger columns and `model`) in chain order.

    Figures are aggregated as events stream by; a retraction (rare) subtracts the event
    it undoes, fetched through `lookup`, so no per-event state is kept for calibration.
    """
    overall = ReviewerStats("all reviewers")
    reviewers: dict[str, ReviewerStats] = {}
    by_band = {name: CalibrationRow(name) for name in BANDS}
    by_source: dict[str, CalibrationRow] = defaultdict(lambda: CalibrationRow(""))
    by_model: dict[str, CalibrationRow] = defaultdict(lambda: CalibrationRow(""))

    def count(event: dict[str, Any], sign: int) -> None:
        person = reviewers.setdefault(event["reviewer"], ReviewerStats(event["reviewer"]))
        for stats in (person, overall):
            stats.actions[event["action"]] += sign
            if sign > 0:
                stats.times_ms.append(event["time_on_item_ms"])
            elif event["time_on_item_ms"] in stats.times_ms:
                stats.times_ms.remove(event["time_on_item_ms"])
        overridden = event["action"] in ("override", "reject")
        for row in (
            by_band[band(event["shown_confidence"])],
            _named(by_source, event["source"]),
            _named(by_model, event.get("model") or "unknown"),
        ):
            row.decisions += sign
            row.overridden += sign * overridden

    total = 0
    for event in events:
        total += 1
        who = reviewers.setdefault(event["reviewer"], ReviewerStats(event["reviewer"]))
        for stats in (who, overall):
            _habits(stats, event)
        if event["action"] != "retract":
            count(event, +1)
            continue
        for stats in (who, overall):
            stats.actions["retract"] += 1
        undone = lookup(event["retracts"]) if lookup is not None else None
        if undone is not None:
            count(undone, -1)
    return Stats(overall, reviewers, by_band, dict(by_source), dict(by_model), total)


def _quantile(values: array[int], q: float) -> float | None:
    """Linear-interpolated quantile (statistics' "inclusive" method)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _named(table: dict[str, CalibrationRow], key: str) -> CalibrationRow:
    row = table[key]
    row.group = key
    return row


def _habits(stats: ReviewerStats, event: dict[str, Any]) -> None:
    if event["action"] == "approve":
        stats._streak += 1
        stats.longest_approve_streak = max(stats.longest_approve_streak, stats._streak)
    else:
        stats._streak = 0
    # A hash of the normalised text: a million justifications fit in a few MB.
    key = hash(normalise(event["justification"]))
    stats.justified += 1
    if key in stats._seen:
        stats.repeated += 1
    else:
        stats._seen.add(key)
