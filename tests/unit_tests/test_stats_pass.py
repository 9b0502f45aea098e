"""The batched statistics pass against the event-at-a-time pass it replaced."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from store import Store
from store.export import ExportFilter, events, stats_for
from store.models import Action
from store.pg import PgConnection
from store.register import contradicted
from store.stats import STATS_BATCH, Row, compute
from tests import stats_reference
from tests.conftest import FakeClock, make_draft, query_plans

REVIEWERS = ("ana", "bo", "cy")
ACTIONS = ("approve", "approve", "approve", "edit", "override", "reject", "escalate")
PHRASES = (
    "Checked the refund, it matches", "checked the REFUND; it matches!", "The source agrees with it"
)  # fmt: skip
RECORDS: list[dict[str, Any] | None] = [
    None, None, None,
    {"commit_first": {"moved_toward_ai": True}},
    {"commit_first": {"moved_toward_ai": False}},
    {"friction_raised": {"signals": ["fast", "repeat"]}},
    {"two_person": {"stage": 2, "agreed": False, "first_seq": 1}},
    {"two_person": {"stage": 1}},
]  # fmt: skip


def _ledger(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Events as the ledger holds them: retractions of earlier decisions, planted drafts."""
    out: list[dict[str, Any]] = []
    open_ones: list[dict[str, Any]] = []  # decisions that may still be retracted
    for seq in range(1, n + 1):
        who = rng.choice(REVIEWERS)
        mine = [e for e in open_ones if e["reviewer"] == who]
        event: dict[str, Any] = {
            # Ties and spread alike: a quantile on one time and between two different ones.
            "seq": seq, "reviewer": who,
            "time_on_item_ms": rng.choice([500, 900, 900, rng.randint(0, 60_000)]),
            "shown_confidence": rng.choice([None, 0.1, 0.5, 0.69, 0.7, 0.9, 0.95]),
            "source": rng.choice(["mail", "chat"]), "model": rng.choice([None, "", "m1", "m2"]),
            "justification": rng.choice(PHRASES) + rng.choice(["", "", " too"]),
            "retracts": None, "oversight": None,
        }  # fmt: skip
        if mine and rng.random() < 0.1:
            undone = rng.choice(mine)
            open_ones.remove(undone)
            event.update(action="retract", retracts=undone["seq"])
        else:
            event["action"] = rng.choice(ACTIONS)
            record = rng.choice(RECORDS)
            if rng.random() < 0.1:  # a catch trial: settled, never retracted
                record = {"planted": {"caught": event["action"] != "approve"}}
            else:
                open_ones.append(event)
            event["oversight"] = json.dumps(record) if record else None
        out.append(event)
    return out


def _row(event: dict[str, Any]) -> Row:
    return (
        event["seq"], event["reviewer"], event["action"], event["time_on_item_ms"],
        stats_reference.band(event["shown_confidence"]), event["source"], event["model"],
        event["oversight"], event["justification"], event["retracts"],
    )  # fmt: skip


def test_the_batched_pass_counts_what_the_old_one_counted() -> None:
    rng = random.Random(5)
    for _ in range(300):
        ledger = _ledger(rng, rng.randint(0, 80))
        # A filter: some reviewer's events, or a range, are outside what is counted.
        outside = rng.choice([set(), {"ana"}, {"bo", "cy"}])
        cut = rng.randint(0, len(ledger))
        kept = [e for e in ledger if e["reviewer"] not in outside and e["seq"] > cut // 3]
        by_seq = {e["seq"]: e for e in kept}
        seqs = [e["seq"] for e in ledger]
        wrong = frozenset(rng.sample(seqs, min(len(seqs), rng.randint(0, 6))))
        stood = frozenset(rng.sample(seqs, min(len(seqs), rng.randint(0, 6)))) - wrong
        size = rng.choice([1, 3, STATS_BATCH])
        batches = [[_row(e) for e in kept[i : i + size]] for i in range(0, len(kept), size)]

        def lookup(seq: int, got: dict[int, dict[str, Any]] = by_seq) -> Row | None:
            return _row(got[seq]) if seq in got else None

        new = compute(batches, lookup, wrong, stood)
        old = stats_reference.compute(kept, by_seq.get, wrong, stood)
        assert new == old, (ledger, outside, cut, wrong, stood)


def test_the_pass_over_a_real_ledger_matches_the_old_one(
    db_target: Path | str, clock: FakeClock
) -> None:
    """Both engines: the SQL band, the join for the model, look-ups, incidents."""
    with Store(db_target, now=clock) as store:
        store.ingest([make_draft(f"T-{i}", confidence=i / 12, model=f"m{i % 2}")
                      for i in range(12) if i != 3])  # fmt: skip
        store.ingest([make_draft("T-3", confidence=None, confidence_basis="none", model="")])
        decided = []
        for i in range(12):
            claim = store.claim_next(REVIEWERS[i % 3])
            assert claim is not None
            clock.advance(seconds=7 * (i % 4 + 1))
            action: Action = ("approve", "reject", "override", "escalate")[i % 4]
            decided.append(store.decide(
                claim, action, f"{PHRASES[i % 3]} on item {i % 5}",
                output="x" if action == "override" else None,
                reason_code="factual-error" if action in ("override", "reject") else None,
            ))  # fmt: skip
        undone = decided[10]
        store.retract(undone.seq, undone.reviewer, "Took the wrong ticket, reopening it now")
        store.leads = frozenset({"lead"})
        incident = store.report_incident("lead", "A bad refund", [decided[0].seq, decided[1].seq])
        store.resolve_incident(
            incident.number, "lead", "confirmed", "The refund was wrong, checked"
        )
        conn = store.conn
        for where in (ExportFilter(include_planted=True), ExportFilter(reviewer="bo"),
                      ExportFilter(stakes="medium", include_planted=True)):  # fmt: skip
            wrong = frozenset(contradicted(conn))
            stood = frozenset(contradicted(conn, "unfounded"))

            def lookup(seq: int, where: ExportFilter = where) -> dict[str, Any] | None:
                return next(events(conn, where, item_text=False, seq=seq), None)

            old = stats_reference.compute(events(conn, where, item_text=False), lookup, wrong,
                                          stood)  # fmt: skip
            new = stats_for(conn, where)
            assert new == old
            assert new.overall.contradicted + new.overall.actions["retract"] > 0


def test_the_pass_reads_each_events_model_beside_the_ledger_not_its_item(
    db_target: Path | str, clock: FakeClock
) -> None:
    """SQLite keeps each event's model (m019), as the join to its item read it.

    A pass at a million events read the items table for that one column.
    """
    with Store(db_target, now=clock) as store:
        store.ingest([make_draft("T-1", model="m-old")])
        claim = store.claim_next("ana")
        assert claim is not None
        first = store.decide(claim, "approve", "Checked the refund, it matches the order")
        store.retract(first.seq, "ana", "Took the wrong ticket, reopening it now")
        store.ingest([make_draft("T-1", model="m-new")])  # pending again: updated
        claim = store.claim_next("ana")
        assert claim is not None
        store.decide(claim, "reject", "The refund is for another order entirely",
                     reason_code="factual-error")  # fmt: skip
        by_model = store.stats().by_model
        assert "m-old" not in by_model  # the retracted approval counts as the item's now
        assert by_model["m-new"].decisions == 1
        if isinstance(store.conn, PgConnection):
            return  # team mode joins the items
        plans = query_plans(store.conn, store.stats, "ledger_models")
        assert plans
        # Plans name tables by their alias: `i` is the items table (`ITEMS_OF_EVENTS`).
        assert not any(re.search(r"\b(SCAN|SEARCH) i\b", plan) for plan in plans), plans


def test_distinct_justifications_count_alike_in_a_set_or_sorted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reviewer with many justifications is counted by sorting (less memory): same count."""
    from array import array

    from store import stats

    rng = random.Random(11)
    keys = array("q", (rng.randrange(-50, 50) for _ in range(1_000)))
    expected = len(set(keys.tolist()))
    assert stats._distinct(keys) == expected  # in a set
    monkeypatch.setattr(stats, "DISTINCT_BY_SET", 10)
    assert stats._distinct(keys) == expected  # sorted
    assert stats._distinct(array("q")) == 0
