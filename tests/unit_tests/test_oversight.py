"""Oversight in the store: commit-first, the policy table, two-person rule, friction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from store import Claim, ClaimError, DecisionError, Event, JustificationRefused, Store, StoreError
from store.ledger import event_hash
from store.oversight import FrictionPolicy, OversightPolicy, Rule, wilson
from tests.conftest import FakeClock, make_draft
from tests.engines import REFUSED

OpenStore = Callable[[OversightPolicy], Store]
HIGH = frozenset({"high"})
REASON = "Checked the refund amount against the billing history for this order"


def policy(**changes: object) -> OversightPolicy:
    """No rules or friction unless a test asks for them."""
    base: dict[str, object] = {
        "rules": (),
        "catch_rate": 0.0,
        "friction": FrictionPolicy(enabled=False),
    }
    base.update(changes)
    return OversightPolicy(**base)  # type: ignore[arg-type]


def take(store: Store, reviewer: str) -> Claim:
    claim = store.claim_next(reviewer)
    assert claim is not None
    return claim


def approve_each(store: Store, clock: FakeClock, seconds: float, reasons: list[str]) -> Event:
    """Claim, spend `seconds`, approve: once per reason. Returns the last event."""
    events = []
    for reason in reasons:
        claim = take(store, "alice")
        clock.advance(seconds=seconds)
        events.append(store.decide(claim, "approve", reason))
    return events[-1]


@pytest.fixture
def open_store(db_target: Path | str, clock: FakeClock) -> Iterator[OpenStore]:
    opened: list[Store] = []

    def make(oversight: OversightPolicy) -> Store:
        store = Store(db_target, now=clock, oversight=oversight)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_commit_first_items_need_the_reviewers_own_judgement_before_a_decision(
    open_store: OpenStore, clock: FakeClock
) -> None:
    store = open_store(policy(commit_first_sources=frozenset({"leads"})))
    store.ingest([make_draft("L-1", source="leads", kind="score", draft="82")])
    claim = take(store, "alice")
    assert store.requirements(claim).commit_first == ("source",)
    with pytest.raises(DecisionError, match="commit-first"):
        store.decide(claim, "approve", REASON)
    with pytest.raises(DecisionError, match="not a number"):
        store.commit_judgement(claim, "high")
    store.commit_judgement(claim, "40")
    with pytest.raises(DecisionError, match="already recorded"):
        store.commit_judgement(claim, "45")
    clock.advance(seconds=30)
    event = store.decide(claim, "approve", REASON)
    assert event.oversight == {
        "commit_first": {"why": ["source"], "value": "40", "ai": "82", "moved_toward_ai": True}
    }
    assert store.verify_chain().ok


def test_a_score_override_away_from_the_ai_is_not_moving_toward_it(open_store: OpenStore) -> None:
    store = open_store(policy(commit_first_sources=frozenset({"leads"})))
    store.ingest([make_draft("L-1", source="leads", kind="score", draft="82")])
    claim = take(store, "alice")
    store.commit_judgement(claim, "40")
    event = store.decide(claim, "override", REASON, output="35", reason_code="wrong-value")
    assert event.oversight is not None
    assert event.oversight["commit_first"]["moved_toward_ai"] is False


def test_label_and_text_judgements_are_checked(open_store: OpenStore) -> None:
    store = open_store(policy(commit_first_sources=frozenset({"risk", "support"})))
    store.ingest(
        [
            make_draft("R-1", source="risk", kind="label", draft="ok",
                       meta={"labels": ["ok", "fraud"]}, stakes="high"),
            make_draft("T-1", stakes="low"),
        ]
    )  # fmt: skip
    label = take(store, "alice")
    with pytest.raises(DecisionError, match="not one of the labels"):
        store.commit_judgement(label, "maybe")
    store.commit_judgement(label, "fraud")
    text = take(store, "bob")
    with pytest.raises(DecisionError, match="expect-approve"):
        store.commit_judgement(text, "looks fine")
    store.commit_judgement(text, "expect-changes", "must name the refund amount")
    event = store.decide(text, "approve", REASON)
    assert event.oversight is not None
    assert event.oversight["commit_first"] == {
        "why": ["source"], "value": "expect-changes", "notes": "must name the refund amount",
        "moved_toward_ai": True,
    }  # fmt: skip


def test_the_policy_table_raises_the_justification_minimum_by_stakes_and_band(
    open_store: OpenStore,
) -> None:
    rules = (Rule(stakes=HIGH, min_chars=60), Rule(bands=frozenset({"high"}), min_chars=30))
    store = open_store(policy(rules=rules))
    store.ingest([make_draft("T-1", stakes="high"), make_draft("T-2", stakes="low")])
    high = take(store, "alice")
    assert store.requirements(high).min_chars == 60  # the strictest matching row wins
    with pytest.raises(JustificationRefused, match="at least 60"):
        store.decide(high, "approve", REASON)
    event = store.decide(high, "approve", REASON + ", and the shipping date in the CRM")
    assert event.oversight == {"min_chars": 60}
    low = take(store, "alice")
    assert store.requirements(low).min_chars == 30


def test_two_person_rule_holds_an_approval_until_a_different_reviewer_agrees(
    open_store: OpenStore,
) -> None:
    rules = (Rule(stakes=HIGH, second_reviewer=True),)
    store = open_store(policy(rules=rules))
    store.delivers_for = frozenset({"support"})
    store.ingest([make_draft("T-1", stakes="high")])
    first = take(store, "alice")
    assert store.requirements(first).second_reviewer
    one = store.decide(first, "approve", REASON)
    assert one.oversight == {"two_person": {"stage": 1}}
    assert store.get_item(first.item_id).state == "pending"
    assert store.claim_next("alice") is None  # the first reviewer cannot take the second
    with pytest.raises(ClaimError, match="different reviewer"):
        store.claim_item(first.item_id, "alice")
    assert store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    second = take(store, "bob")
    assert second is not None
    need = store.requirements(second)
    assert (need.second_review_of, need.second_reviewer) == (one.seq, False)
    two = store.decide(second, "approve", "Bob checked the refund total against the invoice")
    assert two.oversight == {
        "two_person": {"stage": 2, "first_seq": one.seq, "first_reviewer": "alice", "agreed": True}
    }
    assert store.get_item(first.item_id).state == "decided"
    delivered = store.conn.execute("SELECT event_seq FROM outbox").fetchall()
    assert delivered == [(two.seq,)]  # only the final decision goes back to the source


def test_two_reviewers_who_disagree_escalate_and_a_retraction_reopens_the_wait(
    open_store: OpenStore,
) -> None:
    store = open_store(policy(rules=(Rule(stakes=HIGH, second_reviewer=True),)))
    store.ingest([make_draft("T-1", stakes="high"), make_draft("T-2", stakes="high")])
    first = take(store, "alice")
    store.decide(first, "approve", REASON)
    second = store.claim_item(first.item_id, "bob")
    bob = store.decide(
        second, "reject", "Order total in the draft is wrong", reason_code="factual-error"
    )
    assert bob.oversight is not None
    assert bob.oversight["two_person"]["agreed"] is False
    assert store.get_item(first.item_id).state == "escalated"
    store.retract(bob.seq, "bob", "I misread the invoice currency, reopening it")
    assert store.get_item(first.item_id).state == "pending"
    assert store.claim_next("alice") is not None  # T-2; T-1 waits for someone else again
    waiting = store.conn.execute("SELECT item_id, first_reviewer FROM second_reviews").fetchall()
    assert waiting == [(first.item_id, "alice")]


def test_fast_decisions_raise_friction_for_the_next_items_then_it_lapses(
    open_store: OpenStore, clock: FakeClock
) -> None:
    friction = FrictionPolicy(items=2, min_chars=60)
    store = open_store(policy(friction=friction))
    store.ingest([make_draft(f"T-{n}", confidence=0.5) for n in range(1, 8)])
    # One second each: far below the reading time of a 60-letter draft (3 s).
    reasons = [
        REASON,
        "Customer name and order number match the CRM",
        "Tone is fine and the refund window is stated right",
    ]
    raised = approve_each(store, clock, 1, reasons)
    assert raised.oversight is not None
    assert raised.oversight["friction_raised"]["signals"] == ["fast"]
    for remaining in (2, 1):
        claim = take(store, "alice")
        need = store.requirements(claim)
        assert need.commit_first == ("friction",)
        assert need.min_chars == 60
        assert need.friction is not None
        assert need.friction.remaining == remaining
        store.commit_judgement(claim, "expect-approve")
        clock.advance(seconds=40)
        event = store.decide(
            claim, "approve", REASON + f" and the address on file, case {remaining}"
        )
        assert event.oversight is not None
        assert event.oversight["friction"] == {"signals": ["fast"], "remaining": remaining}
    claim = take(store, "alice")
    assert store.requirements(claim).friction is None


def test_approval_streaks_at_high_confidence_and_near_repeats_are_signals(
    open_store: OpenStore, clock: FakeClock
) -> None:
    friction = FrictionPolicy(streak=3, items=1)
    store = open_store(policy(friction=friction))
    store.ingest([make_draft(f"T-{n}", confidence=0.95) for n in range(1, 6)])
    reasons = [
        "Amount matches the invoice total and the order date",
        "Customer name and the order number match our CRM",
        "Tone is polite and the refund window is stated right",
    ]
    last = approve_each(store, clock, 60, reasons)
    assert last.oversight is not None
    assert last.oversight["friction_raised"]["signals"] == ["streak"]
    claim = take(store, "alice")
    store.commit_judgement(claim, "expect-approve")
    clock.advance(seconds=60)
    store.decide(
        claim,
        "reject",
        "The refund window is stated wrong for this plan: it is fourteen days, not thirty",
        reason_code="policy",
    )
    claim = take(store, "alice")
    clock.advance(seconds=60)
    near = store.decide(claim, "approve", "Amount matches the invoice total and the order dates")
    assert near.oversight is not None
    assert near.oversight["friction_raised"]["signals"] == ["repeats"]


def test_oversight_is_covered_by_the_event_hash(open_store: OpenStore) -> None:
    store = open_store(policy(rules=(Rule(min_chars=25),)))
    store.ingest([make_draft("T-1")])
    event = store.decide(take(store, "alice"), "approve", REASON)
    row = dict(
        zip(
            [d[0] for d in store.conn.execute("SELECT * FROM ledger").description],
            store.conn.execute("SELECT * FROM ledger").fetchone(),
            strict=True,
        )
    )
    assert event_hash(row) == event.hash
    assert event_hash({**row, "oversight": '{"min_chars":99}'}) != event.hash
    assert event_hash({**row, "oversight": None}) != event.hash
    with pytest.raises(REFUSED, match="append-only"):
        store.conn.execute("UPDATE ledger SET oversight = NULL")


def test_a_planted_decision_is_flagged_and_cannot_be_retracted(
    open_store: OpenStore, clock: FakeClock
) -> None:
    import random

    store = open_store(policy())
    store.ingest([make_draft(f"T-{n}") for n in range(1, 20)])
    (planted,) = store.plant(0.05, random.Random(1))
    claim = store.claim_item(planted.item_id, "alice")
    event = store.decide(claim, "approve", REASON)
    assert event.oversight is not None
    assert event.oversight["planted"]["caught"] is False
    with pytest.raises(StoreError, match="catch-trial"):
        store.retract(event.seq, "alice", "Approved by mistake, taking it back now")
    assert store.last_retractable("alice") is None


@pytest.mark.parametrize(
    ("caught", "seen", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (1, 1, 0.2065, 1.0)],
)
def test_wilson_interval_matches_published_values(
    caught: int, seen: int, low: float, high: float
) -> None:
    interval = wilson(caught, seen)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=1e-4)
    assert wilson(0, 0) is None


def test_signals_use_the_reading_time_of_each_draft() -> None:
    from store.oversight import Past, reading_ms, signals

    friction = FrictionPolicy()
    long_draft = 6000  # about 1,000 words: over three minutes at 300 words a minute
    assert reading_ms(friction, long_draft) == 200_000
    assert reading_ms(friction, 10) == friction.min_read_ms
    slow = [Past("approve", 250_000, 0.5, f"reason {n} " * 5, long_draft, None) for n in range(5)]
    fast = Past("approve", 60_000, 0.5, "a different reason entirely", long_draft, None)
    assert "fast" not in signals(friction, fast, slow)
    assert "fast" in signals(friction, fast, [fast, fast, *slow])


def test_the_repeats_signal_measures_likeness_exactly_as_difflib_does() -> None:
    """`cydifflib` stands in for difflib's SequenceMatcher for speed: the same ratio, always.

    Short and long texts (difflib's "autojunk" starts at 200 characters), near repeats,
    reordered words and non-ASCII letters: a faster measure that differs (a token or
    character-set ratio) would move where the 80 % threshold fires.
    """
    import difflib
    import random

    from cydifflib import SequenceMatcher

    rng = random.Random(5)
    words = ["amount", "order", "refund", "ledger", "policy", "invoice", "date", "é", "ü", "ß"]
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 80))) for _ in range(150)]
    texts += ["".join(rng.choice("ab c") for _ in range(rng.randint(150, 450))) for _ in range(50)]
    for a, b in zip(texts, texts[1:] + texts[:1], strict=True):
        near = b[: len(b) // 2] + " also " + b[len(b) // 2 :]
        for other in (b, near, a[::-1]):
            assert (
                SequenceMatcher(None, a, other).ratio()
                == difflib.SequenceMatcher(None, a, other).ratio()
            )
