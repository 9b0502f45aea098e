"""The preview pane: beside the list on wide terminals, never showing a hidden draft."""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App
from textual.widgets import Static

from store import OversightPolicy, Store
from tests.tui_tests.conftest import AppFactory


def preview_text(app: App[None]) -> str:
    """The preview as plain text."""
    console = Console(width=70, record=True, color_system=None, file=io.StringIO())
    console.print(app.screen.query_one("#preview-body", Static).content)
    return console.export_text()


async def test_a_wide_queue_previews_the_highlighted_item(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("down")  # L-7
        await pilot.pause(0.2)
        assert app.screen.query_one("#preview").display
        shown = preview_text(app)
        assert "L-7" in shown
        assert "82" in shown  # its draft
    narrow = make_app(review_store)
    async with narrow.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not narrow.screen.query_one("#preview").display


async def test_the_preview_hides_a_draft_that_opens_commit_first(
    review_store: Store, make_app: AppFactory
) -> None:
    review_store.oversight = OversightPolicy()  # high stakes, high confidence: commit-first
    app = make_app(review_store)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        shown = preview_text(app)
        assert "T-1" in shown
        assert "Opens commit-first" in shown
        assert review_store.get_item(1).draft not in shown
        assert "0.90" not in shown
