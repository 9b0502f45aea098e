"""A decision and the next claim together (`Store.decide_and_claim`).

On a team database the claim rides behind the decision's commit: two round trips
where there were three. What matters as much: the claim sees the decision (counts,
friction), nothing is claimed when the decision fails, and a claim that fails after
the decision committed leaves the decision recorded and the connection usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store import Claim, ClaimError, JustificationRefused, OversightPolicy, Store, ledger, queue
from store.dialect import deferred as settle
from store.pg import PgConnection
from tests.conftest import FakeClock, make_draft
from tests.pg import RoundTrips

GOOD = "Checked the refund amount against the order history"


def _open_claims(db: Store) -> list[tuple[str, int]]:
    rows = db.conn.execute(
        "SELECT reviewer, item_id FROM claims WHERE ended_at IS NULL ORDER BY item_id"
    ).fetchall()
    return [tuple(row) for row in rows]


def _filled(target: Path | str, clock: FakeClock) -> Store:
    opened = Store(target, now=clock, oversight=OversightPolicy(catch_rate=0))
    opened.ingest([make_draft(f"T-{n}", confidence=0.5) for n in range(8)])
    return opened


def test_the_next_claim_sees_the_decision_it_follows(
    db_target: Path | str, clock: FakeClock
) -> None:
    """What the screen is given equals what it would read after (counts, friction)."""
    with _filled(db_target, clock) as db:
        found = db.claim_and_open("ann")
        assert found is not None
        claim = found[0]
        team = isinstance(db.conn, PgConnection)
        for words in _REASONS:  # fast decisions: the pace raises friction on the next items
            if found[1].needs.commit_first:
                db.commit_judgement(claim, "expect-approve")
            decided = db.decide_and_claim(claim, "approve", words)
            assert decided.event.claim_id == claim.id
            assert decided.claimed is team  # on SQLite the app claims after, as before
            if team:
                assert decided.next is not None
                found = decided.next
                assert found[1] == db.opened(found[0])
            else:
                found = db.claim_and_open("ann")
                assert found is not None
            claim = found[0]
            assert _open_claims(db) == [("ann", claim.item_id)]
        assert [e.action for e in db.events()] == ["approve"] * len(_REASONS)
        assert found[1].needs.friction is not None  # the decisions above: seen by the claim


_REASONS = [
    "Matched the refund amount with the order total and the payment record in billing",
    "Customer history shows two earlier refunds; policy allows this one, wording is fine",
    "Verified shipping date against carrier tracking, the apology and timeline are right",
    "Looked up the account tier: the promised credit fits gold members, tone acceptable",
]


@pytest.mark.postgres
def test_a_decision_and_the_next_claim_are_two_round_trips(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _filled(pg_url, clock) as db:
        found = db.claim_and_open("ann")
        assert found is not None
        assert isinstance(db.conn, PgConnection)
        counted = RoundTrips(db.conn._raw)
        monkeypatch.setattr(db.conn, "_raw", counted)
        decided = db.decide_and_claim(found[0], "approve", GOOD)
        assert counted.trips == 2, "\n".join(counted.sent)
        assert decided.next is not None
        assert decided.next[0].item_id != found[0].item_id


@pytest.mark.postgres
def test_nothing_pending_is_said_as_a_claim_of_nothing(pg_url: str, clock: FakeClock) -> None:
    with Store(pg_url, now=clock) as db:
        db.ingest([make_draft("T-1")])
        claim = db.claim_next("ann")
        assert claim is not None
        decided = db.decide_and_claim(claim, "approve", GOOD)
        assert (decided.claimed, decided.next) == (True, None)
        assert _open_claims(db) == []


def test_a_refused_decision_claims_nothing(db_target: Path | str, clock: FakeClock) -> None:
    with _filled(db_target, clock) as db:
        claim = db.claim_next("ann")
        assert claim is not None
        with pytest.raises(JustificationRefused):
            db.decide_and_claim(claim, "approve", "ok")
        assert _open_claims(db) == [("ann", claim.item_id)]
        assert list(db.events()) == []


@pytest.fixture
def claimed(pg_url: str, clock: FakeClock) -> Iterator[tuple[Store, Claim]]:
    """A team queue and ann's claim on its first item."""
    with _filled(pg_url, clock) as db:
        claim = db.claim_next("ann")
        assert claim is not None
        yield db, claim


@pytest.mark.postgres
def test_a_decision_failing_at_its_commit_claims_nothing(
    claimed: tuple[Store, Claim], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is skipped with the failed decision: nothing between them lets it run."""
    db, claim = claimed

    def failing(conn: Any, sql: str, params: Any = ()) -> None:
        settle(conn, sql, params)
        settle(conn, "SELECT 1 / 0", ())  # sent with the decision's commit

    monkeypatch.setattr(ledger, "deferred", failing)
    with pytest.raises(Exception, match="division by zero"):
        db.decide_and_claim(claim, "approve", GOOD)
    monkeypatch.undo()
    assert _open_claims(db) == [("ann", claim.item_id)]
    assert list(db.events()) == []
    # The connection is usable, and the claim still decides.
    assert db.decide_and_claim(claim, "approve", GOOD).claimed


@pytest.mark.postgres
def test_a_claim_failing_after_the_decision_leaves_the_decision_recorded(
    claimed: tuple[Store, Claim], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, claim = claimed
    monkeypatch.setattr(queue, "_CLAIM_NEXT_PG", "SELECT 1 / 0, 2, 3, 4")
    decided = db.decide_and_claim(claim, "approve", GOOD)
    monkeypatch.undo()
    assert (decided.claimed, decided.next) == (False, None)
    assert [e.claim_id for e in db.events()] == [claim.id]
    assert _open_claims(db) == []
    found = db.claim_and_open("ann")  # the app's own claim, on the same connection
    assert found is not None


@pytest.mark.postgres
def test_a_claim_that_cannot_be_read_back_is_given_back_and_the_decision_kept(
    claimed: tuple[Store, Claim], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, claim = claimed

    def unreadable(*_: Any, **__: Any) -> Any:
        raise ClaimError("the claim ended meanwhile")

    monkeypatch.setattr(Store, "_opened", unreadable)
    decided = db.decide_and_claim(claim, "approve", GOOD)
    monkeypatch.undo()
    assert (decided.claimed, decided.next) == (False, None)
    assert [e.claim_id for e in db.events()] == [claim.id]
    assert _open_claims(db) == []  # the claim made with it went back to the queue
