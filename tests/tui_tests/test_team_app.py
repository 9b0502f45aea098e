"""The review app on a team database: the same keys, the same ledger, live updates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from textual.widgets import Static

from store import OversightPolicy, Store
from store.oversight import FrictionPolicy, Rule
from tests.conftest import FakeClock, make_draft
from tests.tui_tests.conftest import AppFactory, reason_form
from tests.tui_tests.test_review import WHY, _item
from tui.screens.oversight import AfterDecision
from tui.widgets.queue_list import QueueList

pytestmark = pytest.mark.postgres


async def test_approve_on_a_team_database(team_review_store: Store, make_app: AppFactory) -> None:
    app = make_app(team_review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        first = _item(app).item
        assert first.external_id == "T-1"
        await pilot.press("a")
        reason_form(app)
        await pilot.press(*WHY, "enter")
        await pilot.pause()
        events = list(team_review_store.events())
        assert [(e.action, e.justification, e.reviewer) for e in events] == [
            ("approve", WHY, "alice")
        ]
        assert _item(app).item.external_id == "L-7"
        # The top line counts the decision just made and the claim just taken.
        top = str(_item(app).query_one("#topbar", Static).render())
        assert "(1 claimed)  1 decided" in top, top
    assert team_review_store.verify_chain().ok


async def test_the_team_queue_follows_other_reviewers_without_a_key(
    team_review_store: Store, make_app: AppFactory, pg_url: str
) -> None:
    app = make_app(team_review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        before = {row.external_id for row in app.screen.query_one(QueueList).rows}
        with Store(pg_url) as lead:  # another machine: a lead imports, a reviewer decides
            lead.ingest([make_draft("T-99", title="Arrived while you looked")])
            claim = lead.claim_next("bob")
            assert claim is not None
            lead.decide(claim, "escalate", "Bob sends this one to a lead to check")
        await pilot.pause(1.2)  # no key pressed
        after = {row.external_id for row in app.screen.query_one(QueueList).rows}
    assert after - before == {"T-99"}
    assert before - after == {"T-1"}  # bob's escalation left the open queue


async def test_a_dropped_connection_is_made_again_and_the_reviewer_told(
    team_review_store: Store, make_app: AppFactory, pg_server: str
) -> None:
    from tests.unit_tests.test_team_faults import cut

    app = make_app(team_review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        cut(pg_server, team_review_store)
        await pilot.press("enter")  # claims T-1 on a new connection
        await pilot.pause()
        assert _item(app).item.external_id == "T-1"
        notices = [n.message for n in app._notifications]
        assert any("broke and was made again" in text for text in notices), notices
        await pilot.press("a", *WHY, "enter")
        await pilot.pause()
    assert [e.action for e in team_review_store.events()] == ["approve"]


async def test_a_team_database_that_stays_away_stops_the_app_without_a_crash(
    team_review_store: Store, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.errors import ConnectionLost
    from tests.unit_tests.test_team_faults import refuse

    app = make_app(team_review_store)

    async def review_until_the_line_goes() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            monkeypatch.setattr("store.pg.RECONNECT_S", 0.2)
            monkeypatch.setattr("store.pg.raw_connection", refuse)
            team_review_store.team_connection().raw.close()
            await pilot.press("enter")
            await pilot.pause()

    with pytest.raises(ConnectionLost, match="could not reconnect"):
        await review_until_the_line_goes()
    assert app.lost is not None
    assert app.crash is None  # not a bug: no crash file, one line from the CLI


async def test_a_decision_and_the_next_item_in_the_app_are_two_round_trips(
    team_review_store: Store, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a reviewer 10 ms from the database waits for between Enter and the next item.

    The decision (2: `test_team`; no probe for the write lock first: it does not wait
    for it, `Store.at_once`), the next claim riding behind its commit in the second
    (`Store.decide_and_claim`: no probe, it takes no write lock), the claim's item,
    rules and the top bar's counts going with it. It was sixteen, then nine, then
    eight, then five, then four, then three.
    """
    from store.pg import PgConnection
    from tests.pg import RoundTrips

    app = make_app(team_review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "a")
        await pilot.pause()
        reason_form(app)
        conn = team_review_store.conn
        assert isinstance(conn, PgConnection)
        counted = RoundTrips(conn._raw)
        monkeypatch.setattr(conn, "_raw", counted)
        await pilot.press(*WHY, "enter")
        await pilot.pause()
        assert _item(app).item.external_id == "L-7"
    assert counted.trips == 2, "\n".join(counted.sent)


async def test_a_decision_waits_visibly_while_a_lead_writes_then_records_once(
    team_review_store: Store, make_app: AppFactory, pg_url: str
) -> None:
    """No probe asks first: the decision itself finds the lock taken.

    It records nothing, says so, and goes through once the lead's write is done.
    """
    app = make_app(team_review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "a")
        reason_form(app)
        with Store(pg_url) as lead, lead._immediate() as conn:
            conn.execute("SELECT 1")  # the lead's write holds the lock from here
            await pilot.press(*WHY, "enter", "enter")  # Enter twice while it waits
            await pilot.pause(0.3)
            assert list(team_review_store.events()) == []
            said = str(_item(app).query_one("#reason-form #error", Static).render())
            assert "Waiting for the database" in said
        await pilot.pause(0.3)
        assert _item(app).item.external_id == "L-7"
    assert [e.justification for e in team_review_store.events()] == [WHY]  # once


@pytest.mark.parametrize("then", ["go on", "quit", "go on after the lease"])
async def test_the_claim_made_with_a_decision_waits_behind_its_notice(
    pg_url: str, clock: FakeClock, make_app: AppFactory, then: str
) -> None:
    """Claimed while the notice after the decision is up: shown after it, or given back.

    The next item is claimed in the decision's last round trip (`Store.decide_and_claim`),
    before the reviewer has read the notice: going on shows that claim (no second one);
    quitting from the notice gives it back to the queue; going on once its lease has
    run out (the notice left up for a lunch) claims afresh.
    """
    leave = then == "quit"
    with _after_sams_approval(pg_url, clock, make_draft("T-2", stakes="low")) as store:
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await _agree_with_sam(app, pilot)
            assert _claims(store) == [("alice", "T-2")]
            (ahead,) = _claim_ids(store)
            if leave:
                app.action_quit_app()
                await pilot.pause()
            else:
                if then == "go on after the lease":
                    clock.advance(seconds=store.lease.total_seconds() + 1)
                await pilot.press("escape")
                await pilot.pause()
                assert _item(app).item.external_id == "T-2"
                assert _item(app).claim.id == _claim_ids(store)[0]
                assert (_item(app).claim.id == ahead) is (then == "go on")
        assert _claims(store) == ([] if leave else [("alice", "T-2")])


async def test_drafts_that_arrive_behind_the_notice_of_the_queues_last_decision_are_shown(
    pg_url: str, clock: FakeClock, make_app: AppFactory
) -> None:
    """The claim made with the queue's last decision found nothing; going on asks again.

    Drafts imported while the notice is up would otherwise wait unseen: the reviewer
    was told there were no more pending items and sent back to the queue.
    """
    with _after_sams_approval(pg_url, clock) as store:
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await _agree_with_sam(app, pilot)
            assert _claims(store) == []
            store.ingest([make_draft("T-9", stakes="low")])
            await pilot.press("escape")
            await pilot.pause()
            assert _item(app).item.external_id == "T-9"
        assert _claims(store) == [("alice", "T-9")]


@contextmanager
def _after_sams_approval(pg_url: str, clock: FakeClock, *more: Any) -> Iterator[Store]:
    """T-1 (high stakes, two reviewers) approved by sam, and `more` drafts after it."""
    policy = OversightPolicy(
        rules=(Rule(stakes=frozenset({"high"}), second_reviewer=True),), catch_rate=0.0,
        friction=FrictionPolicy(enabled=False),
    )  # fmt: skip
    with Store(pg_url, now=clock, oversight=policy) as store:
        store.ingest([make_draft("T-1", stakes="high"), *more])
        first = store.claim_next("sam")
        assert first is not None
        store.decide(first, "approve", "Sam compared the refund with the invoice of the order")
        yield store


async def _agree_with_sam(app: Any, pilot: Any) -> None:
    """Open T-1 from the queue and approve it: the notice "You and sam agree" is up."""
    await pilot.press("enter", "a")
    reason_form(app)
    await pilot.press(*WHY, "enter")
    await pilot.pause()
    assert isinstance(app.screen, AfterDecision)


def _claims(store: Store) -> list[tuple[str, str]]:
    return [tuple(row) for row in store.conn.execute(
        "SELECT c.reviewer, i.external_id FROM claims AS c JOIN items AS i ON i.id = c.item_id "
        "WHERE c.ended_at IS NULL ORDER BY c.id"
    ).fetchall()]  # fmt: skip


def _claim_ids(store: Store) -> list[int]:
    return [row[0] for row in store.conn.execute(
        "SELECT id FROM claims WHERE ended_at IS NULL ORDER BY id"
    ).fetchall()]  # fmt: skip
