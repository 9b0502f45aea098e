"""Rubber-stamp signals over a long day: approvers are flagged for as long as they go on.

Three reviewers work 600 drafts (one in ten with a real problem, 5 % planted) through
the store, which is where the signals are computed: one approves everything fast with
one stock sentence, one approves everything slowly in varied words, and one reads and
objects to what is wrong.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from store import Store
from store.models import Action
from store.oversight import FrictionPolicy, OversightPolicy
from tests.conftest import T0, FakeClock, make_draft

POLICY = OversightPolicy(rules=(), catch_rate=0.05, friction=FrictionPolicy())
WORD_TEXT = (
    "refund invoice order date customer address tracking courier warranty renewal plan "
    "discount credit VAT currency total ticket tone policy delivery window account "
    "name receipt balance schedule contract notice period statement line item quantity "
    "price"
)


def varied(rng: random.Random, external_id: str) -> str:
    """A different sentence every time: what a reviewer who writes their own words types."""
    picked = rng.sample(WORD_TEXT.split(), 9)
    return (f"On {external_id} I compared the {picked[0]} and the {picked[1]} with the "
            f"{picked[2]}; {picked[3]}, {picked[4]} and {picked[5]} agree, {picked[6]} "
            f"{picked[7]} {picked[8]} too")  # fmt: skip


Decide = Callable[[int, str, random.Random, bool], tuple[str, str, float]]
"""(decision number, external id, rng, is it wrong) → (action, justification, seconds)."""


def stamper(n: int, ext: str, rng: random.Random, wrong: bool) -> tuple[str, str, float]:
    return (
        "approve",
        f"Checked this reply, it reads fine to me, all good, nothing to change at all, {ext}",
        0.8,
    )


def slow_approver(n: int, ext: str, rng: random.Random, wrong: bool) -> tuple[str, str, float]:
    return "approve", varied(rng, ext), 40.0


def careful(n: int, ext: str, rng: random.Random, wrong: bool) -> tuple[str, str, float]:
    if wrong:
        return "reject", "Rejecting: " + varied(rng, ext) + " but one of them is wrong", 60.0
    return "approve", varied(rng, ext), 40.0


def work_day(db: Path, decide: Decide) -> tuple[int, list[int]]:
    """Decide every item; returns (decisions, the decision numbers where friction fired)."""
    clock = FakeClock()
    rng = random.Random(7)
    with Store(db, now=clock, oversight=POLICY) as store:
        store.ingest([
            make_draft(f"T-{5000 + 3 * n}", draft=f"Hello, your refund of {20 + n % 70} EUR for "
                       f"order {7000 + n} is issued and reaches you within five working days.",
                       meta={"problem": "wrong amount"} if n % 10 == 3 else {},
                       created_at=T0 - dt.timedelta(minutes=600 - n))
            for n in range(600)
        ])  # fmt: skip
        store.plant(POLICY.catch_rate, random.Random(11))
        wrong = {row[0] for row in store.conn.execute("SELECT item_id FROM plants")}
        wrong |= {row[0] for row in store.conn.execute(
            "SELECT id FROM items WHERE meta LIKE '%wrong amount%'")}  # fmt: skip
        fired: list[int] = []
        n = 0
        while (claim := store.claim_next("r")) is not None:
            item = store.get_item(claim.item_id)
            if store.requirements(claim, item).commit_first:
                store.commit_judgement(claim, "expect-approve")
            action, why, seconds = decide(n, item.external_id, rng, item.id in wrong)
            clock.advance(seconds=max(seconds, 0.0))
            event = store.decide(
                claim,
                cast(Action, action),
                why,
                reason_code="factual-error" if action == "reject" else None,
            )
            if (event.oversight or {}).get("friction_raised"):
                fired.append(n)
            n += 1
    return n, fired


@pytest.mark.parametrize("persona", [stamper, slow_approver], ids=["fast", "slow"])
def test_approvers_are_flagged_again_and_again(tmp_path: Path, persona: Decide) -> None:
    decisions, fired = work_day(tmp_path / "q.db", persona)
    assert decisions >= 600
    # Never more than 50 decisions without a reminder, from the start to the end.
    gaps = [b - a for a, b in zip([0, *fired], [*fired, decisions], strict=True)]
    assert max(gaps) <= 50, fired


def test_a_careful_reviewer_is_flagged_at_most_rarely(tmp_path: Path) -> None:
    decisions, fired = work_day(tmp_path / "q.db", careful)
    assert len(fired) <= decisions / 100, fired
