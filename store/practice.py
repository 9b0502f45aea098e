"""AI-off practice: a decided item again, with no draft and no confidence; unaided accuracy.

Skills decay under AI help (adenoma detection fell from 28.4 % to 22.4 % in colonoscopies
done without AI once AI was in use: Budzyń et al. 2025). A configured share of the
items a reviewer opens (`OversightPolicy.practice`) is a practice item: one a colleague
already decided (a score or a label), shown with its input only. The reviewer's own
answer is compared with the standing decision, or, for a settled catch trial, with what
is known (the planted value is wrong). Practice records nothing in the ledger and
changes no item; the result is the reviewer's to see, and the team's trend is a lead's.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from store.clock import iso, parse_iso
from store.dialect import dialect_of
from store.errors import StoreError
from store.oversight import wilson
from store.queue import check_reviewer
from store.review import ReviewMixin
from store.values import score_scale

if TYPE_CHECKING:
    from store.db import Connection
    from store.models import Item

DROP: Final = 0.06
"""The fall in unaided accuracy the trend must be able to see (6 points)."""
PRACTICE_KINDS: Final = ("score", "label")
"""Kinds whose unaided answer can be compared with a decision (a value, not a text)."""


@dataclass(frozen=True, slots=True)
class PracticeResult:
    """How one practice answer compared."""

    item_id: int
    answer: str
    reference: str
    """What it was compared with, in words (`80 (standing decision)`, `not 'fraud'`)."""
    correct: bool
    basis: str
    """`standing` (a colleague's decision) or `plant` (a catch trial: known wrong)."""


@dataclass(frozen=True, slots=True)
class Period:
    """Unaided accuracy in one calendar month."""

    month: str
    answers: int
    correct: int

    @property
    def rate(self) -> float:
        """Correct per answer."""
        return self.correct / self.answers if self.answers else 0.0

    @property
    def interval(self) -> tuple[float, float] | None:
        """95 % Wilson interval."""
        return wilson(self.correct, self.answers)


def needed_per_period(p0: float, drop: float = DROP, alpha: float = 0.05, power: float = 0.8
                      ) -> tuple[int, str]:  # fmt: skip
    """Practice answers a period needs to detect a fall from `p0` by `drop`, and the sum.

    One-sided test of one proportion: n = ((z(1-a)·√(p0·q0) + z(power)·√(p1·q1)) / (p0 - p1))².
    """
    from statistics import NormalDist  # here: the review app's start does not need it

    p0 = min(max(p0, drop + 0.01), 0.99)
    p1 = p0 - drop
    za, zb = NormalDist().inv_cdf(1 - alpha), NormalDist().inv_cdf(power)
    top = za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p1 * (1 - p1))
    n = math.ceil((top / drop) ** 2)
    shown = (f"n = ((z(0.95)·√(p0·q0) + z(0.80)·√(p1·q1)) / (p0 - p1))² = "
             f"(({za:.3f}·√({p0:.2f}·{1 - p0:.2f}) + {zb:.3f}·√({p1:.2f}·{1 - p1:.2f})) "
             f"/ {drop:.2f})² = {n}")  # fmt: skip
    return n, shown


def correct_answer(item: Item, answer: str, reference: str, planted: bool) -> bool:
    """Whether `answer` matches `reference` (a plant: whether it avoids the planted value).

    Scores match within a tenth of their scale (or of the value); labels exactly.
    """
    if item.kind == "label":
        same = answer.strip().lower() == reference.strip().lower()
    else:
        try:
            given, target = float(answer), float(reference)
        except ValueError:
            return False
        scale = score_scale(item.meta)
        width = (scale[1] - scale[0]) if scale else max(abs(target), 1.0)
        same = abs(given - target) <= 0.1 * width
    return not same if planted else same


class PracticeMixin(ReviewMixin):
    """Practice items and their results; mixed into `store.Store`."""

    def practice_item(self, reviewer: str, rng: random.Random) -> Item | None:
        """A decided score or label item `reviewer` never saw, for practice; None if none."""
        reviewer = check_reviewer(reviewer)
        rows = self.conn.execute(
            "SELECT i.id FROM items AS i "
            "JOIN ledger AS e ON e.seq = (SELECT max(seq) FROM ledger WHERE item_id = i.id) "
            "WHERE i.state = 'decided' AND (i.kind = 'score' OR i.kind = 'label') "
            "AND e.action != 'escalate' AND e.action != 'retract' AND e.reviewer != ? "
            "AND NOT EXISTS (SELECT 1 FROM ledger AS x WHERE x.item_id = i.id "
            "AND x.reviewer = ?) "
            "AND NOT EXISTS (SELECT 1 FROM practice AS p WHERE p.item_id = i.id "
            "AND p.reviewer = ?) ORDER BY i.id DESC LIMIT 500",
            (reviewer, reviewer, reviewer),
        ).fetchall()
        if not rows:
            return None
        return self.get_item(int(rng.choice(rows)[0]))

    def answer_practice(self, reviewer: str, item_id: int, answer: str) -> PracticeResult:
        """Record `reviewer`'s unaided answer on a practice item and how it compared.

        Raises:
            StoreError: Not a decided score or label item, already practised, or the
                answer is empty or not a value of the item.
        """
        from store.values import check_value

        reviewer = check_reviewer(reviewer)
        answer = answer.strip()
        if not answer:
            raise StoreError("give your answer first")
        with self._immediate() as conn:
            item = self._item(conn, item_id)
            if item.state != "decided" or item.kind not in PRACTICE_KINDS:
                raise StoreError(f"{item.external_id} is not a decided score or label")
            check_value(item, answer, "your answer")  # DecisionError: a StoreError
            if conn.execute(
                "SELECT 1 FROM practice WHERE reviewer = ? AND item_id = ?", (reviewer, item_id)
            ).fetchone():
                raise StoreError(f"you practised {item.external_id} already")
            if conn.execute(
                "SELECT 1 FROM ledger WHERE item_id = ? AND reviewer = ?", (item_id, reviewer)
            ).fetchone():  # the same rule as `practice_item`, whoever the caller
                raise StoreError(
                    f"you decided {item.external_id} yourself: practice is on colleagues' items"
                )
            settled = conn.execute(
                f"SELECT mutation FROM {dialect_of(conn).settled_plant}", (item_id,)
            ).fetchone()
            basis = "standing"
            if settled is not None:  # a catch trial: all that is known is the draft is wrong
                reference, shown, avoid = item.draft, f"not {item.draft} (planted wrong)", True
                basis = "plant"
            else:
                action, output = conn.execute(
                    "SELECT action, output FROM ledger WHERE item_id = ? ORDER BY seq DESC "
                    "LIMIT 1", (item_id,)
                ).fetchone()  # fmt: skip
                if action == "reject":
                    reference, shown, avoid = item.draft, f"not {item.draft} (rejected)", True
                else:
                    reference, shown, avoid = str(output), f"{output} (standing decision)", False
            correct = correct_answer(item, answer, reference, avoid)
            conn.execute(
                "INSERT INTO practice (reviewer, item_id, answer, reference, correct, basis, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (reviewer, item_id, answer, shown, int(correct), basis, iso(self.now())),
            )
        return PracticeResult(item_id, answer, shown, correct, basis)

    def practice_trend(self, reviewer: str | None = None) -> list[Period]:
        """Unaided accuracy per calendar month, oldest first (one reviewer's, or all)."""
        return trend(self.conn, reviewer)


def trend(conn: Connection, reviewer: str | None = None) -> list[Period]:
    """Practice answers per calendar month, oldest first (one reviewer's, or all visible).

    In team mode a reviewer sees their own answers only (row security); a lead, all.
    """
    where, args = ("WHERE reviewer = ?", (reviewer,)) if reviewer else ("", ())
    months: dict[str, list[int]] = {}
    for recorded, correct in conn.execute(
        f"SELECT recorded_at, correct FROM practice {where} ORDER BY recorded_at", args
    ):
        tally = months.setdefault(parse_iso(recorded).strftime("%Y-%m"), [0, 0])
        tally[0] += 1
        tally[1] += int(correct)
    return [Period(month, n, k) for month, (n, k) in months.items()]


def alarm(periods: list[Period], drop: float = DROP) -> str | None:
    """One line when the newest period fell more than `drop` below the ones before."""
    if len(periods) < 2 or not periods[-1].answers:
        return None
    before = [p for p in periods[:-1] if p.answers]
    answered = sum(p.answers for p in before)
    if not answered:
        return None
    baseline = sum(p.correct for p in before) / answered
    latest = periods[-1]
    if baseline - latest.rate <= drop:
        return None
    return (f"ALARM: unaided accuracy fell from {baseline:.0%} (before {latest.month}) to "
            f"{latest.rate:.0%} in {latest.month} ({latest.correct}/{latest.answers}), "
            f"more than {drop:.0%}")  # fmt: skip
