"""How the screens look, at 80x24 and 160x48, with a frozen clock (pytest-textual-snapshot)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from store import Store
from tests.tui_tests.conftest import AppFactory

SIZES = [(80, 24), (160, 48)]


async def _item(pilot: Pilot[None]) -> None:
    await pilot.press("enter")
    await pilot.pause()


async def _dialog(pilot: Pilot[None]) -> None:
    await pilot.press("enter", "a")
    focused = pilot.app.focused
    assert isinstance(focused, Input)
    focused.insert_text_at_cursor("Refund matches")
    await pilot.pause()


async def _help(pilot: Pilot[None]) -> None:
    await pilot.press("enter", "question_mark")
    await pilot.pause()


async def _queue(pilot: Pilot[None]) -> None:
    await pilot.pause()


SCREENS: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "queue": _queue,
    "item": _item,
    "dialog": _dialog,
    "help": _help,
}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screens(
    snap_compare: Any, review_store: Store, make_app: AppFactory, screen: str,
    size: tuple[int, int],
) -> None:  # fmt: skip
    app = make_app(review_store)
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])
