"""Oversight statistics over the ledger: per-reviewer habits and AI calibration.

Computed in one streaming pass in chain order (`compute`). Retracted decisions are
left out of the figures (they were undone); retractions themselves are counted.
"""

from __future__ import annotations

import bisect
import itertools
import json
import operator
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from store.oversight import wilson
from store.policy import normalised_keys
from store.views import BINS

OVERALL: Final = "all reviewers"


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


STATS_COLUMNS: Final = (
    "e.seq", "e.reviewer", "e.action", "e.time_on_item_ms", "band", "e.source", "model",
    "e.oversight", "e.justification", "e.retracts",
)  # fmt: skip
"""What the pass reads of each event, in this order (`band`: its calibration band;
`model`: its item's model, where the engine keeps it: `Dialect.event_model`)."""
STATS_BATCH: Final = 256
"""Events per batch (small: a batch that no longer fits the processor's caches was
slower to count, as it was to write as CSV)."""
Row = tuple[int, str, str, int, str, str, "str | None", "str | None", str, "int | None"]
"""One event as `STATS_COLUMNS`."""
Lookup = Callable[[int], Row | None]
"""Event by seq, or None if it is outside the events being counted."""


def compute(
    batches: Iterable[Sequence[Row]],
    lookup: Lookup | None = None,
    contradicted: frozenset[int] = frozenset(),
    stood: frozenset[int] = frozenset(),
) -> Stats:
    """One pass over events (`Row`s, in batches) in chain order.

    What can be counted a batch at a time is (actions, calibration groups, oversight
    records: `Counter.update` over the batch's columns); only streaks, repeated
    justifications and times on item look at each event. A retraction (rare)
    subtracts the event it undoes, fetched through `lookup`, after the pass; so do
    planted drafts (counted apart: they say nothing of the AI). `contradicted` holds
    the events a confirmed incident names (`store.register`), `stood` those an
    unfounded one named: few, looked up after the pass.

    Memory grows with the ledger by two 8-byte numbers an event (a justification's hash,
    a time on item), plus one reviewer's sorted list while finishing: 63 MB at the peak
    for a million events.
    """
    tally = Tally()
    for batch in batches:
        tally.add(batch)
    return tally.finish(lookup, contradicted, stood)


class Tally:
    """The pass's running counts (see `compute`); kept between passes by `store.stats_kept`."""

    def __init__(self) -> None:
        self.events = 0
        self.last = 0
        """The seq of the last event counted."""
        self.actions: Counter[tuple[str, str]] = Counter()
        self.groups: Counter[tuple[str, str, str | None, str]] = Counter()
        self.records: Counter[tuple[str, str | None]] = Counter()
        self.run: dict[str, int] = {}
        self.best: dict[str, int] = {}
        self.overall_run = self.overall_best = 0
        self.phrases: dict[str, array[int]] = {}
        """Per reviewer, a key of each justification (`normalised_keys`): repeats are
        counted once at the end (`_distinct`)."""
        self.times: dict[str, array[int]] = {}
        self.planted: list[Row] = []
        self.undone: list[int] = []
        self.distinct: dict[str, int] = {}
        """Each reviewer's distinct justification keys when last finished: their count
        again without a set while no event of theirs is added (`touched`)."""
        self.touched: set[str] = set()
        """Reviewers with events added since the last `finish`."""

    def add(self, batch: Sequence[Row]) -> None:
        """Count one batch of events (in chain order, after the batches before)."""
        self.events += len(batch)
        self.last = batch[-1][0]
        _, who, action, spent, bands, sources, models, records, said, undoes = zip(
            *batch, strict=True
        )
        self.actions.update(zip(who, action, strict=True))
        self.groups.update(zip(bands, sources, models, action, strict=True))
        self.records.update(zip(who, records, strict=True))
        self.touched.update(who)
        run, best, phrases, times = self.run, self.best, self.phrases, self.times
        overall_run, overall_best = self.overall_run, self.overall_best
        for row, reviewer, verb, ms, record, phrase, undo in zip(
            batch, who, action, spent, records, normalised_keys(said), undoes, strict=True
        ):
            if verb == "approve":
                streak = run[reviewer] = run.get(reviewer, 0) + 1
                if streak > best.get(reviewer, 0):
                    best[reviewer] = streak
                overall_run += 1
                if overall_run > overall_best:
                    overall_best = overall_run
            else:
                run[reviewer] = overall_run = 0
            kept = phrases.get(reviewer)
            if kept is None:
                kept = phrases[reviewer] = array("q")
                times[reviewer] = array("q")
            kept.append(phrase)
            if verb == "retract":
                if undo is not None:
                    self.undone.append(undo)
                continue
            times[reviewer].append(ms)
            if record and _planted(record):
                self.planted.append(row)
        self.overall_run, self.overall_best = overall_run, overall_best

    def finish(self, lookup: Lookup | None, contradicted: frozenset[int],
               stood: frozenset[int]) -> Stats:  # fmt: skip
        """The figures, once every batch is in."""
        overall = ReviewerStats(OVERALL)
        reviewers = {who: ReviewerStats(who) for who in self.phrases}
        for (who, action), n in self.actions.items():
            for stats in (reviewers[who], overall):
                stats.actions[action] += n
                stats.justified += n
        for who, stats in reviewers.items():
            if who in self.touched or who not in self.distinct:
                self.distinct[who] = _distinct(self.phrases[who])
            stats.repeated = stats.justified - self.distinct[who]
            stats.longest_approve_streak = self.best.get(who, 0)
        overall.repeated = sum(r.repeated for r in reviewers.values())
        overall.longest_approve_streak = self.overall_best
        self._records(reviewers, overall)
        groups = Counter(self.groups)  # the tally stays as counted: it may be kept
        for row in self.planted:
            groups[_group(row)] -= 1  # a planted draft is wrong on purpose: not the AI's
            for stats in (reviewers[row[1]], overall):
                stats.caught += row[2] != "approve"  # as `planted_caught`: escalating counts
                stats.missed += row[2] == "approve"
        # Groups some standing decision was in, even if a retraction empties them again.
        shown = {key for key, n in groups.items() if n > 0 and key[3] != "retract"}
        removed: dict[str, Counter[int]] = defaultdict(Counter)
        undone = set()
        for seq in self.undone:
            gone = lookup(seq) if lookup is not None else None
            if gone is None:
                continue  # outside the events counted: nothing of it was counted
            undone.add(seq)
            for stats in (reviewers[gone[1]], overall):
                stats.actions[gone[2]] -= 1
            groups[_group(gone)] -= 1
            removed[gone[1]][gone[3]] += 1
        by_band: dict[str, CalibrationRow] = {name: CalibrationRow(name) for name in BINS}
        by_source: dict[str, CalibrationRow] = {}
        by_model: dict[str, CalibrationRow] = {}
        for key in shown:
            n, overridden = groups[key], groups[key] * (key[3] in ("override", "reject"))
            for table_row in _rows(key, by_band, by_source, by_model):
                table_row.decisions += n
                table_row.overridden += overridden
        for seq in sorted((contradicted | stood) - undone):
            found = lookup(seq) if lookup is not None else None
            if found is not None and found[2] != "retract":
                self._incident(found, seq in contradicted, seq in stood, reviewers, overall,
                               (by_band, by_source, by_model))  # fmt: skip
        _quantiles(self.times, removed, reviewers, overall, self.touched)
        self.touched.clear()
        return Stats(overall, reviewers, by_band, by_source, by_model, self.events)

    def _records(self, reviewers: dict[str, ReviewerStats], overall: ReviewerStats) -> None:
        """Count the oversight records, each distinct one read once."""
        read: dict[str, dict[str, Any]] = {}
        for (who, text), n in self.records.items():
            if text:
                record = read.get(text)
                if record is None:
                    record = read[text] = json.loads(text)
                _oversight(reviewers[who], overall, record, n)

    @staticmethod
    def _incident(
        row: Row, wrong: bool, right: bool, reviewers: dict[str, ReviewerStats],
        overall: ReviewerStats,
        tables: tuple[dict[str, CalibrationRow], dict[str, CalibrationRow],
                      dict[str, CalibrationRow]],
    ) -> None:  # fmt: skip
        """What a resolved incident says of a decision that stands."""
        planted = _planted(row[7])
        agreed = row[2] == "approve"
        for stats in (reviewers[row[1]], overall):
            stats.contradicted += wrong
            if planted:
                continue  # caught or missed already
            if wrong:
                stats.missed += agreed
                stats.overrode_right += not agreed and row[2] != "escalate"
            elif agreed and right:
                stats.kept_right += 1
        if wrong and not planted:
            for table_row in _rows(_group(row), *tables):
                table_row.contradicted += 1


def _planted(record: str | None) -> bool:
    """Whether an oversight record is a planted draft's (the JSON read only if it may be)."""
    return bool(record and '"planted"' in record and json.loads(record).get("planted"))


def _group(row: Row) -> tuple[str, str, str | None, str]:
    return row[4], row[5], row[6], row[2]


def _rows(
    key: tuple[str, str, str | None, str],
    by_band: dict[str, CalibrationRow],
    by_source: dict[str, CalibrationRow],
    by_model: dict[str, CalibrationRow],
) -> tuple[CalibrationRow, CalibrationRow, CalibrationRow]:
    """The calibration rows an event of this group counts in."""
    source, model = key[1], key[2] or "unknown"
    if source not in by_source:
        by_source[source] = CalibrationRow(source)
    if model not in by_model:
        by_model[model] = CalibrationRow(model)
    return by_band[key[0]], by_source[source], by_model[model]


def _quantiles(
    times: dict[str, array[int]],
    removed: dict[str, Counter[int]],
    reviewers: dict[str, ReviewerStats],
    overall: ReviewerStats,
    touched: set[str],
) -> None:
    """Median and 10th percentile of the times on item of the decisions that stand.

    Sorted one reviewer at a time, and kept sorted as compact arrays: everyone's
    figures are read off those by bisection (`_at_rank`). A list of every time held
    ~40 MB at a million; merging the arrays to walk to a rank took ~0.3 s. A `touched`
    reviewer's times are put back in order: the next pass (`store.stats_kept`) sorts
    a sorted run, ~10x faster.
    """
    ranked: list[array[int]] = []
    for who, stats in reviewers.items():
        kept = sorted(times[who])
        if who in touched:
            times[who] = array("q", kept)
        gone = removed.get(who)
        if gone:  # one time per retracted decision, whichever of equal ones
            kept = [ms for ms in kept if not _take(gone, ms)]
        stats.median_ms, stats.p10_ms = _quantile(kept, 0.5), _quantile(kept, 0.1)
        if kept:
            ranked.append(array("q", kept))
    total = sum(map(len, ranked))
    if not total:
        return
    for q, name in ((0.5, "median_ms"), (0.1, "p10_ms")):
        position = (total - 1) * q
        low = int(position)
        below, above = _at_rank(ranked, low), _at_rank(ranked, min(low + 1, total - 1))
        setattr(overall, name, float(below + (above - below) * (position - low)))


def _at_rank(ranked: Sequence[array[int]], rank: int) -> int:
    """The value at `rank` (0: the smallest) of all the sorted arrays taken together.

    The smallest value with more than `rank` values at or below it, found by halving
    the range of values: ~40 steps of one `bisect` per array, whatever their length.
    """
    low, high = min(a[0] for a in ranked), max(a[-1] for a in ranked)
    while low < high:
        middle = (low + high) // 2
        if sum(bisect.bisect_right(a, middle) for a in ranked) > rank:
            high = middle
        else:
            low = middle + 1
    return low


DISTINCT_BY_SET: Final = 250_000
"""Up to this many justifications a reviewer, their distinct keys are counted in a set
(~3x faster than sorting them); above it, sorted (a set of a million held ~70 MB, a
sorted list ~40 MB)."""


def _distinct(hashes: array[int]) -> int:
    """How many different values."""
    if len(hashes) <= DISTINCT_BY_SET:
        return len(set(hashes))
    ranked = sorted(hashes)
    return len(ranked) and 1 + sum(map(operator.ne, ranked, itertools.islice(ranked, 1, None)))


def _take(gone: Counter[int], ms: int) -> bool:
    if gone[ms] > 0:
        gone[ms] -= 1
        return True
    return False


def _oversight(
    who: ReviewerStats, overall: ReviewerStats, record: dict[str, Any], n: int = 1
) -> None:
    """Count an oversight record `n` times (events that carry the same one)."""
    planted = record.get("planted")
    first = record.get("commit_first")
    raised = record.get("friction_raised")
    stage = record.get("two_person") or {}
    for stats in (who, overall):
        if planted:
            stats.planted_seen += n
            stats.planted_caught += n * bool(planted.get("caught"))
        if first:
            stats.commit_first += n
            stats.moved_toward_ai += n * (first.get("moved_toward_ai") is True)
        if raised:
            stats.friction_raised += n
            for signal in raised.get("signals", ()):
                stats.signals[signal] += n
        if stage.get("stage") == 2:
            stats.second_reviews += n
            stats.disagreements += n * (not stage.get("agreed"))


def _quantile(ranked: list[int], q: float) -> float | None:
    """Linear-interpolated quantile (statistics' "inclusive" method) of sorted values."""
    if not ranked:
        return None
    position = (len(ranked) - 1) * q
    low = int(position)
    high = ranked[min(low + 1, len(ranked) - 1)]
    return float(ranked[low] + (high - ranked[low]) * (position - low))
