"""Text entry that cannot put control, bidi or invisible characters on the screen.

A pasted justification is as untrusted as a draft: Textual's `Input` would echo an
ESC sequence to the terminal. Every insertion passes through `visible()`, so what is
shown is exactly what is stored. (`SafeTextArea` lives in its own module: TextArea's
import is heavy and only the editor needs it.)
"""

from __future__ import annotations

from textual.widgets import Input

from tui.safe import visible
from tui.widgets.watchers import forget


class SafeInput(Input):
    """An `Input` whose typed or pasted text is made visible before it is inserted."""

    def insert(self, text: str, index: int) -> None:
        """Insert `text` (made visible) at `index`."""
        super().insert(visible(text), index)

    def replace(self, text: str, start: int, end: int) -> None:
        """Replace a range with `text` (made visible)."""
        super().replace(visible(text), start, end)

    def on_unmount(self) -> None:
        """Unsubscribe from the screen's signal (`tui.widgets.watchers`).

        Without this an input on a screen that stays (the commit-first notes on the item
        screen) is kept for the whole session: one per commit-first item.
        """
        forget(self)
