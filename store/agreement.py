"""How much reviewers agree, on the items two of them decided independently.

The overlap comes from the two-person rule and the double-review sample: the second
reviewer decides without seeing the first. Cohen's kappa per pair of reviewers (with the
asymptotic 95% interval statsmodels computes) and Krippendorff's alpha (nominal) across
everyone (the `krippendorff` package; its 95% interval by resampling items, 1,000
rounds). The statistics are the libraries'; this module only gathers the ratings —
their numbers are checked against published worked examples in the tests. numpy,
statsmodels and krippendorff load only when agreement is computed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.models import DECISION_ACTIONS

if TYPE_CHECKING:
    from store.db import Connection

BOOTSTRAP_ROUNDS = 1000


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate and its 95% interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class PairAgreement:
    """Two reviewers on the items both decided."""

    reviewers: tuple[str, str]
    items: int
    agreed: int
    kappa: Interval | None
    """None when kappa is undefined: fewer than two items, or one verb only."""


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement over the whole overlap."""

    items: int
    agreed: int
    pairs: list[PairAgreement]
    alpha: Interval | None
    """None when alpha is undefined (too few items, or every rating the same verb)."""


Rating = tuple[int, str, str]
"""(item, reviewer, verb) of one independent decision."""


def double_reviewed(conn: Connection) -> list[Rating]:
    """Both ratings of every standing double review (retracted ones left out)."""
    retracted = {
        int(seq)
        for (seq,) in conn.execute("SELECT retracts FROM ledger WHERE retracts IS NOT NULL")
    }
    seconds: list[tuple[int, int, str, str]] = []  # (first seq, item, reviewer, verb)
    for seq, item, reviewer, action, oversight in conn.execute(
        "SELECT seq, item_id, reviewer, action, oversight FROM ledger WHERE oversight LIKE ?",
        ('%"two_person"%',),
    ):
        stage = json.loads(oversight).get("two_person") or {}
        first = stage.get("first_seq")
        if stage.get("stage") == 2 and first is not None and {seq, first}.isdisjoint(retracted):
            seconds.append((int(first), int(item), str(reviewer), str(action)))
    firsts: dict[int, tuple[str, str]] = {}
    wanted = [first for first, *_ in seconds]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for seq, reviewer, action in conn.execute(
            f"SELECT seq, reviewer, action FROM ledger WHERE seq IN ({marks})", chunk
        ):
            firsts[int(seq)] = (str(reviewer), str(action))
    ratings: list[Rating] = []
    for first, item, reviewer, action in seconds:
        if first in firsts:
            ratings += [(item, *firsts[first]), (item, reviewer, action)]
    return ratings


def agreement(ratings: Iterable[Rating], *, seed: int = 0) -> Agreement:
    """Cohen's kappa for each pair of reviewers, Krippendorff's alpha across everyone."""
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for item, reviewer, verb in ratings:
        by_item[item][reviewer] = verb
    shared = {item: seen for item, seen in by_item.items() if len(seen) >= 2}
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for seen in shared.values():
        names = sorted(seen)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                pairs[(a, b)].append((seen[a], seen[b]))
    agreed = sum(1 for seen in shared.values() if len(set(seen.values())) == 1)
    return Agreement(
        items=len(shared),
        agreed=agreed,
        pairs=[
            PairAgreement(key, len(rows), sum(a == b for a, b in rows), _kappa(rows))
            for key, rows in sorted(pairs.items())
        ],
        alpha=_alpha(shared, seed),
    )


_CODES: dict[str, int] = {verb: code for code, verb in enumerate(DECISION_ACTIONS)}


def _kappa(rows: list[tuple[str, str]]) -> Interval | None:
    if len(rows) < 2:
        return None
    import numpy as np
    from statsmodels.stats.inter_rater import cohens_kappa

    table: Any = np.zeros((len(_CODES), len(_CODES)))
    for a, b in rows:
        table[_CODES[a], _CODES[b]] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Any = cohens_kappa(table, return_results=True)
    values = (float(result.kappa), float(result.kappa_low), float(result.kappa_upp))
    if not all(np.isfinite(values)):
        return None
    return Interval(*values)


def _alpha(shared: dict[int, dict[str, str]], seed: int) -> Interval | None:
    if len(shared) < 2:
        return None  # before the imports: `signoff stats` without an overlap loads none
    import krippendorff
    import numpy as np

    reviewers = sorted({name for seen in shared.values() for name in seen})
    data: Any = np.full((len(reviewers), len(shared)), np.nan)
    for column, seen in enumerate(shared.values()):
        for name, verb in seen.items():
            data[reviewers.index(name), column] = _CODES[verb]

    def alpha(matrix: Any) -> float | None:
        try:
            value = float(krippendorff.alpha(matrix, level_of_measurement="nominal"))
        except ValueError:  # one verb only: alpha is undefined
            return None
        return value if np.isfinite(value) else None

    estimate = alpha(data)
    if estimate is None:
        return None
    rng = np.random.default_rng(seed)
    draws = [
        value
        for _ in range(BOOTSTRAP_ROUNDS)
        if (value := alpha(data[:, rng.integers(0, data.shape[1], data.shape[1])])) is not None
    ]
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (estimate, estimate)
    return Interval(estimate, float(low), float(high))
