"""The preview pane: beside the list on wide terminals, never showing a hidden draft."""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from store import OversightPolicy, Store
from tests.tui_tests.conftest import AppFactory


def preview_text(app: App[None]) -> str:
    """The preview as plain text."""
    console = Console(width=70, record=True, color_system=None, file=io.StringIO())
    console.print(app.screen.query_one("#preview-body", Static).content)
    return console.export_text()


async def preview_of(pilot: Pilot[None], external_id: str) -> str:
    """The preview once it shows `external_id` (it fills after the cursor rests)."""
    for _ in range(40):  # up to 2 s on a loaded machine
        await pilot.pause(0.05)
        shown = preview_text(pilot.app)
        if external_id in shown:
            return shown
    raise AssertionError(f"the preview never showed {external_id}: {shown!r}")


async def test_a_wide_queue_previews_the_highlighted_item(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("down")  # L-7
        assert app.screen.query_one("#preview").display
        shown = await preview_of(pilot, "L-7")
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
        shown = await preview_of(pilot, "T-1")
        assert "Opens commit-first" in shown
        assert review_store.get_item(1).draft not in shown
        assert "0.90" not in shown
