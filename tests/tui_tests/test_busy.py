"""Another process holding the database: the app says it is waiting, never freezes or crashes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from store import Store
from tests.tui_tests.conftest import AppFactory, approve_dialog, is_open
from tui.screens.item import ItemScreen

WHY = "Checked the refund against the billing history"


@pytest.fixture
def other(review_store: Store) -> Iterator[sqlite3.Connection]:
    """Another process's connection to the same file (an import, a pull).

    It takes the write lock with BEGIN IMMEDIATE when a test says so.
    """
    conn = sqlite3.connect(review_store.path, isolation_level=None)
    yield conn
    conn.close()


async def test_a_decision_waits_visibly_for_a_busy_database_then_records(
    review_store: Store, make_app: AppFactory, other: sqlite3.Connection
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await approve_dialog(pilot, WHY)
        screen = app.screen
        assert isinstance(screen, ItemScreen)
        first = screen.item.id
        other.execute("BEGIN IMMEDIATE")  # an import, mid-batch
        await pilot.press("ctrl+s", "ctrl+s")  # pressed twice while it waits
        await pilot.pause(0.2)
        assert is_open(dialog)
        assert "Waiting for the database" in str(dialog.query_one("#error").render())
        assert list(review_store.events()) == []
        other.execute("COMMIT")
        await pilot.pause(0.2)
        assert not is_open(dialog)  # recorded; the next item is open
        assert screen.item.id != first
    assert [e.justification for e in review_store.events()] == [WHY]  # once, not twice


async def test_a_database_that_stays_busy_is_one_line_and_nothing_recorded(
    review_store: Store,
    make_app: AppFactory,
    other: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tui.claiming.WAIT_FOR_DB_S", 0.2)
    app = make_app(review_store)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter")  # a claim is a write too
            await pilot.pause(0.5)
            said = " ".join(str(n.message) for n in app._notifications)
            assert "Waiting for the database" in said
            assert "stayed busy for 0 s: nothing was recorded" in said
            assert not isinstance(app.screen, ItemScreen)
            assert app.is_running
    finally:
        other.execute("ROLLBACK")


async def test_going_back_while_the_database_is_busy_does_not_freeze(
    review_store: Store, make_app: AppFactory, other: sqlite3.Connection
) -> None:
    from tui.screens.queue import QueueScreen
    from tui.widgets.queue_list import QueueList

    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        held = app.screen
        assert isinstance(held, ItemScreen)
        other.execute("BEGIN IMMEDIATE")
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, QueueScreen)  # back at once
        assert review_store.get_item(held.item.id).state == "claimed"  # release waits
        other.execute("COMMIT")
        await pilot.pause(0.2)
        assert review_store.get_item(held.item.id).state == "pending"
        rows = {r.external_id: r.state for r in app.screen.query_one(QueueList).rows}
        assert rows[held.item.external_id] == "pending"  # and the list shows it


async def test_skipping_twice_while_busy_claims_one_item_and_holds_none(
    review_store: Store, make_app: AppFactory, other: sqlite3.Connection
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        first = app.screen
        assert isinstance(first, ItemScreen)
        skipped = first.item.id
        other.execute("BEGIN IMMEDIATE")
        await pilot.press("s", "s")  # the second press while the first still waits
        await pilot.pause(0.1)
        other.execute("COMMIT")
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, ItemScreen)
        held = [i for i in range(1, 5) if review_store.get_item(i).state == "claimed"]
        assert held == [screen.item.id]  # one claim, the one on screen
        assert skipped not in held


@pytest.mark.parametrize("asked_again", [False, True])
async def test_escape_while_a_decision_waits_records_nothing(
    review_store: Store, make_app: AppFactory, other: sqlite3.Connection, asked_again: bool
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await approve_dialog(pilot, WHY)
        other.execute("BEGIN IMMEDIATE")
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        await pilot.press("escape")  # Escape: nothing is recorded, as the dialog says
        if asked_again:
            await pilot.press("a")  # before the database is free
        await pilot.pause(0.1)
        other.execute("COMMIT")
        await pilot.pause(0.3)
        assert list(review_store.events()) == []
        assert isinstance(app.screen, ItemScreen)
        if asked_again:
            assert is_open(dialog)  # still open, empty, for a new answer
            assert dialog.query_one("#justification").text == ""  # type: ignore[attr-defined]
        else:
            assert not is_open(dialog)
