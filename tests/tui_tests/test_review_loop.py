"""The review loop as a new user drives it: no crash mid-queue, no command fired by typing.

Each test here reproduces something seen on a real run of `signoff demo`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store
from tests.conftest import FakeClock
from tests.tui_tests.conftest import AppFactory
from tui.app import SignoffApp
from tui.demo import DEMO_OVERSIGHT, load_demo
from tui.screens.item import ItemScreen


@pytest.fixture
def demo_store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    """The bundled demo queue under the demo's own oversight policy."""
    with Store(db_path, now=clock, oversight=DEMO_OVERSIGHT) as store:
        load_demo(store)
        yield store


def shown_id(app: SignoffApp) -> str:
    screen = app.screen
    assert isinstance(screen, ItemScreen), type(screen)
    return screen.item.external_id


async def test_skipping_through_commit_first_items_never_crashes(
    demo_store: Store, make_app: AppFactory
) -> None:
    # Seen on main: Enter on A-315, then s six times; as R-9003 (commit-first) opened
    # after another commit-first item, the app died with DuplicateIds.
    app = make_app(demo_store)
    item = demo_store.find_item("analyst", "A-315")
    assert item is not None
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_item(item.id)
        await pilot.pause()
        seen = [shown_id(app)]
        for _ in range(12):
            await pilot.press("s")
            await pilot.pause()
            if not isinstance(app.screen, ItemScreen):
                break
            seen.append(shown_id(app))
            screen = app.screen
            forms = screen.query("#commit-pane")
            assert len(forms) == (0 if screen.committed else 1), seen
    assert app.return_code in (None, 0)
    assert "R-9003" in seen
