"""The frame drawn after a decision is the next item whole (`tui.frame.draw_now`).

Read from what the app hands its terminal (`App._display`, called headless too): the
first update after the record key must already carry the next item, the line saying
the decision was recorded, and the item's keys in the footer, not the reason form's.
"""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import RenderableType
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.screen import Screen

from store import Store
from tests.tui_tests.conftest import AppFactory, approve_dialog
from tests.tui_tests.test_review import WHY

WIDTH, HEIGHT = 100, 30
RECORDED_ROW, FOOTER_ROW = HEIGHT - 2, HEIGHT - 1
"""The item screen's last two rows: the line naming the decision, then the keys."""


def _rows(update: RenderableType | None) -> dict[int, str]:
    """The text an update writes, per screen row (the cells it leaves alone omitted)."""
    rows: dict[int, str] = {}
    if isinstance(update, ChopsUpdate):
        for y, _x1, _x2 in update.spans:
            rows[y] = "".join(strip.text for strip in update.chops[y].values() if strip)
    elif isinstance(update, LayoutUpdate):
        for y, line in enumerate(update.strips, update.region.y):
            rows[y] = "".join(strip.text for strip in line)
    return rows


async def test_the_first_frame_after_a_decision_is_the_next_item_whole(
    review_store: Store, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(review_store)
    frames: list[dict[int, str]] = []
    shown = app._display

    def display(screen: Screen[Any], update: RenderableType | None) -> None:
        frames.append(_rows(update))
        shown(screen, update)

    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        await approve_dialog(pilot, WHY)
        await pilot.pause()
        monkeypatch.setattr(app, "_display", display)
        await pilot.press("enter")  # Enter in the box records
        await pilot.pause()
    assert [e.external_id for e in review_store.events()] == ["T-1"]
    first = frames[0]
    assert any("L-7" in row for row in first.values()), first
    assert first.get(RECORDED_ROW, "").strip().startswith("Recorded approve on T-1."), first
    footer = first.get(FOOTER_ROW, "")
    assert "approve" in footer, footer
    assert "submit" not in footer, footer


def test_put_leaves_a_widget_alone_only_when_its_content_would_draw_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.text import Text
    from textual.widgets import Static

    from tui.frame import put

    updates: list[object] = []
    static = Static("x")
    monkeypatch.setattr(Static, "update", lambda self, content: updates.append(content))
    put(static, "x")
    put(static, Text("x"))  # a Text for a string: updated (not known to draw alike)
    assert updates == [Text("x")]
    static = Static(Text("same", style="bold"))
    put(static, Text("same", style="bold"))
    assert updates == [Text("x")]
    # Equal by `Text.__eq__` (characters and spans), different on screen.
    for different in (Text("same", style="red"), Text("same", style="bold", justify="right")):
        put(static, different)
        assert updates[-1] is different
    put(static, Text("same!", style="bold"))
    assert len(updates) == 4
