"""Oversight statistics over the ledger: per-reviewer habits and AI calibration.

Computed in one streaming pass in chain order. Retracted decisions are left out of
the figures (they were undone); retractions themselves are counted.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
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
    times_ms: list[int] = field(default_factory=list)
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
        return statistics.median(self.times_ms) if self.times_ms else None

    @property
    def p10_ms(self) -> float | None:
        """10th percentile of time on item: how fast the fastest decisions are."""
        if len(self.times_ms) < 2:
            return float(self.times_ms[0]) if self.times_ms else None
        return statistics.quantiles(self.times_ms, n=10, method="inclusive")[0]

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


def compute(events: Iterable[dict[str, Any]]) -> Stats:
    """One pass over events (dicts with ledger columns and `model`) in chain order."""
    overall = ReviewerStats("all reviewers")
    reviewers: dict[str, ReviewerStats] = {}
    # Only what the calibration needs, per standing decision: never the event dicts
    # (they carry drafts), so a million events cost tens of MB, not gigabytes.
    standing: dict[int, tuple[str, str, int, float | None, str, str]] = {}
    count = 0
    for event in events:
        count += 1
        who = reviewers.setdefault(event["reviewer"], ReviewerStats(event["reviewer"]))
        action = event["action"]
        for stats in (who, overall):
            _habits(stats, event)
        if action == "retract":
            undone = standing.pop(event["retracts"], None)
            if undone is not None:
                for stats in (reviewers[undone[0]], overall):
                    stats.actions[undone[1]] -= 1
                    if undone[2] in stats.times_ms:
                        stats.times_ms.remove(undone[2])
            for stats in (who, overall):
                stats.actions["retract"] += 1
            continue
        standing[event["seq"]] = (
            event["reviewer"], action, event["time_on_item_ms"], event["shown_confidence"],
            event["source"], event.get("model") or "unknown",
        )  # fmt: skip
        for stats in (who, overall):
            stats.actions[action] += 1
            stats.times_ms.append(event["time_on_item_ms"])
    by_band = {name: CalibrationRow(name) for name in BANDS}
    by_source: dict[str, CalibrationRow] = defaultdict(lambda: CalibrationRow(""))
    by_model: dict[str, CalibrationRow] = defaultdict(lambda: CalibrationRow(""))
    for _who, action, _ms, confidence, source, model in standing.values():
        overridden = action in ("override", "reject")
        groups = (
            by_band[band(confidence)],
            _named(by_source, source),
            _named(by_model, model),
        )
        for row in groups:
            row.decisions += 1
            row.overridden += overridden
    for stats in (overall, *reviewers.values()):
        stats.times_ms.sort()
    return Stats(overall, reviewers, by_band, dict(by_source), dict(by_model), count)


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
