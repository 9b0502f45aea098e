"""AI-off practice: unaided answers on colleagues' decided items, compared and trended."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from store import Store, StoreError
from store.practice import Period, alarm, needed_per_period
from tests.conftest import FakeClock, make_draft
from tests.engines import REFUSED

LABELS = ["legitimate", "suspicious", "fraud"]


def labelled(n: int, start: int = 0) -> list:  # type: ignore[type-arg]
    return [
        make_draft(f"R-{i}", source="risk", kind="label", draft=LABELS[i % 3],
                   meta={"labels": LABELS}, confidence=None, confidence_basis="none",
                   data_limits=())
        for i in range(start, start + n)
    ]  # fmt: skip


def bob_decides_all(store: Store) -> dict[str, str]:
    """Bob approves every label except R-1 (overridden to fraud) and R-2 (rejected)."""
    truth = {}
    while (claim := store.claim_next("bob")) is not None:
        item = store.get_item(claim.item_id)
        why = f"Bob checked {item.external_id} against the transaction log"
        if item.external_id == "R-1":
            store.decide(claim, "override", why, output="fraud", reason_code="factual-error")
            truth[item.external_id] = "fraud"
        elif item.external_id == "R-2":
            store.decide(claim, "reject", why, reason_code="factual-error")
        else:
            store.decide(claim, "approve", why)
            truth[item.external_id] = item.draft
    return truth


def test_a_practice_answer_is_compared_with_the_standing_decision(
    db_target: Path | str, clock: FakeClock
) -> None:
    with Store(db_target, now=clock) as store:
        store.ingest(labelled(4))
        truth = bob_decides_all(store)
        assert store.practice_item("bob", random.Random(1)) is None  # his own decisions
        own = store.find_item("risk", "R-0")
        assert own is not None
        with pytest.raises(StoreError, match="you decided R-0 yourself"):
            store.answer_practice("bob", own.id, truth["R-0"])
        item = store.practice_item("alice", random.Random(1))
        assert item is not None
        assert item.kind == "label"
        one = store.find_item("risk", "R-1")
        assert one is not None
        right = store.answer_practice("alice", one.id, "fraud")
        assert right.correct
        assert right.reference == "fraud (standing decision)"
        with pytest.raises(StoreError):  # once per reviewer and item
            store.answer_practice("alice", one.id, "fraud")
        two = store.find_item("risk", "R-2")
        assert two is not None
        rejected = store.answer_practice("alice", two.id, two.draft)
        assert not rejected.correct  # the draft was rejected: its value is wrong
        with pytest.raises(StoreError, match="is not one of"):
            store.answer_practice("alice", store.find_item("risk", "R-3").id, "maybe")  # type: ignore[union-attr]
        for external_id in ("R-0", "R-3"):
            found = store.find_item("risk", external_id)
            assert found is not None
            store.answer_practice("alice", found.id, truth[external_id])
        assert store.practice_item("alice", random.Random(1)) is None  # all practised
        (month,) = store.practice_trend()
        assert (month.month, month.answers, month.correct) == ("2026-11", 4, 3)
        assert store.practice_trend("bob") == []
        with pytest.raises(REFUSED, match="append-only"):
            store.conn.execute("UPDATE practice SET correct = 1")
        store.abandon()


def test_a_settled_catch_trial_is_known_wrong(sqlite_store: Store) -> None:
    sqlite_store.ingest(labelled(6))
    (plant,) = sqlite_store.plant(0.15, random.Random(4))
    bob_decides_all(sqlite_store)
    item = sqlite_store.find_item("risk", plant.external_id)
    assert item is not None
    result = sqlite_store.answer_practice("alice", item.id, item.draft)
    assert (result.basis, result.correct) == ("plant", False)
    assert "planted wrong" in result.reference


def test_the_arithmetic_for_a_six_point_drop_is_shown() -> None:
    n, shown = needed_per_period(0.85)
    assert n == 241  # ((1.645·√(.85·.15) + 0.842·√(.79·.21)) / .06)² = 240.3
    assert shown.endswith("= 241")
    assert "1.645" in shown and "0.842" in shown  # noqa: PT018


def test_an_alarm_when_the_newest_month_falls_more_than_six_points() -> None:
    steady = [Period("2026-09", 100, 88), Period("2026-10", 100, 86)]
    assert alarm([*steady, Period("2026-11", 50, 42)]) is None  # 84 %: within 6 points
    line = alarm([*steady, Period("2026-11", 50, 38)])
    assert line is not None
    assert line.startswith("ALARM: unaided accuracy fell from 87% (before 2026-11) to 76%")


def test_practice_separates_a_reviewer_who_works_from_one_who_guesses(
    sqlite_store: Store, clock: FakeClock
) -> None:
    sqlite_store.ingest(labelled(120))
    truth = bob_decides_all(sqlite_store)
    rng = random.Random(7)
    for who in ("worker", "guesser"):
        for _ in range(50):
            item = sqlite_store.practice_item(who, rng)
            assert item is not None
            if who == "worker":  # reads the input and gets it right 9 times in 10
                known = truth.get(item.external_id)
                wrong = [x for x in LABELS if x != item.draft]
                answer = known if known and rng.random() < 0.9 else rng.choice(wrong)
            else:
                answer = rng.choice(LABELS)
            sqlite_store.answer_practice(who, item.id, answer)
            clock.advance(minutes=3)
    (worked,) = sqlite_store.practice_trend("worker")
    (guessed,) = sqlite_store.practice_trend("guesser")
    assert worked.interval is not None and guessed.interval is not None  # noqa: PT018
    assert guessed.interval[1] < worked.interval[0]  # the 95 % intervals do not overlap
