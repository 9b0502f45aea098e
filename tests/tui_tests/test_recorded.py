"""The decision just recorded is said on one line: never stale, never stacked."""

from __future__ import annotations

from pathlib import Path

from store import Store
from tests.conftest import FakeClock, make_draft
from tests.tui_tests.conftest import AppFactory, approve_dialog
from tests.tui_tests.test_review import WHY, type_and
from tui.screens.dialogs import ConfirmScreen, JustificationDialog
from tui.screens.item import ItemScreen
from tui.screens.queue import QueueScreen
from tui.widgets.recorded import RecordedLine


def _said(app: object) -> str | None:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ItemScreen)
    return screen.query_one(RecordedLine).said


async def test_the_line_names_the_newest_decision_and_an_undo_clears_it(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await approve_dialog(pilot, WHY)
        await pilot.press("enter")
        await pilot.pause()
        assert _said(app) == "Recorded approve on T-1. u undoes it."
        assert app.screen.query_one(RecordedLine).display
        await pilot.press("a")
        await type_and(pilot, "Scored against the account's last three orders", "enter")
        await pilot.pause()
        assert _said(app) == "Recorded approve on L-7. u undoes it."  # not both, not T-1
        assert not [n for n in app._notifications if "Recorded" in n.message]
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, JustificationDialog)
        await type_and(pilot, "Scored too fast, the order history needs a look", "enter")
        await pilot.pause()
        assert [e.action for e in review_store.events()][-1] == "retract"
        assert _said(app) is None  # nothing left offering to undo what was undone
        assert not app.screen.query_one(RecordedLine).display


async def test_after_the_last_item_the_queue_says_what_was_recorded(
    tmp_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    with Store(tmp_path / "one.db", now=clock) as store:
        store.ingest([make_draft("T-9")])
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await approve_dialog(pilot, WHY)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, QueueScreen)
            said = [n.message for n in app._notifications]
            assert "Recorded approve on T-9. u undoes it. No more pending items." in said
