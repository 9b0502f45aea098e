"""Every item opens: a decided or escalated one read-only, with its whole history."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import App
from textual.screen import Screen

from store import Store
from tests.tui_tests.conftest import AppFactory
from tests.unit_tests.test_cli import run
from tui.screens.filter import FilterScreen
from tui.screens.history import HistoryScreen
from tui.screens.queue import QueueScreen
from tui.widgets.queue_list import QueueList

WHY = "Checked the refund against the billing history"


def on_screen(app: App[None]) -> Screen[object]:
    """The current screen, read afresh (mypy keeps an earlier `isinstance` otherwise)."""
    return app.screen


def decide_two(store: Store) -> None:
    """T-1 escalated by alice; L-7 rejected then taken back by bob, then escalated."""
    first = store.claim_next("alice")
    assert first is not None
    store.decide(first, "escalate", "The refund is above my limit; a lead should look")
    second = store.claim_next("bob")
    assert second is not None
    event = store.decide(
        second, "reject", "The score ignores the budget line", reason_code="policy"
    )
    store.retract(event.seq, "bob", "Rejected the wrong lead by mistake, sorry")
    again = store.claim_next("bob")
    assert again is not None
    store.decide(again, "escalate", "Bob wants a lead to score this one")


async def test_an_escalated_item_opens_read_only_with_its_history(
    review_store: Store, make_app: AppFactory
) -> None:
    decide_two(review_store)
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await pilot.press("f")
        assert isinstance(app.screen, FilterScreen)
        app.screen.query_one("#status").value = "escalated"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        rows = [r.external_id for r in queue.query_one(QueueList).rows]
        assert rows == ["T-1", "L-7"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        body = app.screen._body()
        assert isinstance(body, Group)
        text = "\n".join(part.plain for part in body.renderables if isinstance(part, Text))
        newest, older = text.index("ESCALATE"), text.index("REJECT")
        assert newest < text.index("RETRACT") < older  # newest first
        assert "(taken back later)" in text
        assert "Rejected the wrong lead by mistake" in text
        assert review_store.get_item(app.screen.item.id).state == "escalated"  # not claimed
        await pilot.press("escape")
        assert on_screen(app) is queue


async def test_search_matches_ids_and_says_how_many(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash", *"t-", "enter")
        await pilot.pause(0.3)
        queue = app.screen
        assert [r.external_id for r in queue.query_one(QueueList).rows] == ["T-1", "T-2"]
        assert "2 matches" in str(queue.query_one("#filter-summary").render())


async def test_the_filter_dialog_fits_80_by_24(review_store: Store, make_app: AppFactory) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        for button in ("#apply", "#clear", "#cancel"):
            region = app.screen.query_one(button).region
            assert region.bottom <= 24, (button, region)
            assert region.right <= 80, (button, region)


def test_show_prints_an_item_and_its_history(review_store: Store) -> None:
    decide_two(review_store)
    shown = run("show", "L-7", "--db", str(review_store.path))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("L-7  med stakes  escalated  Northwind")
    verbs = [word for line in lines for word in line.split() if word.isupper() and len(word) > 4]
    assert verbs == ["ESCALATE", "RETRACT", "REJECT"]
    missing = run("show", "Z-9", "--db", str(review_store.path))
    assert (missing.returncode, missing.stderr.strip()) == (1, "signoff: no item Z-9")
