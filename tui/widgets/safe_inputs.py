"""Text entry that cannot put control, bidi or invisible characters on the screen.

A pasted justification or edit is as untrusted as a draft: Textual's `Input` and
`TextArea` would echo an ESC sequence to the terminal. Every insertion passes
through `visible()`, so what is shown is exactly what is stored.
"""

from __future__ import annotations

from textual.document._document import EditResult
from textual.document._edit import Edit
from textual.widgets import Input, TextArea

from tui.safe import visible


class SafeInput(Input):
    """An `Input` whose typed or pasted text is made visible before it is inserted."""

    def insert(self, text: str, index: int) -> None:
        """Insert `text` (made visible) at `index`."""
        super().insert(visible(text), index)

    def replace(self, text: str, start: int, end: int) -> None:
        """Replace a range with `text` (made visible)."""
        super().replace(visible(text), start, end)


class SafeTextArea(TextArea):
    """A `TextArea` whose every edit (typing, paste, replace) is made visible first."""

    def edit(self, edit: Edit) -> EditResult:
        """Apply `edit` with its text made visible (newlines and tabs kept)."""
        edit.text = visible(edit.text, multiline=True)
        return super().edit(edit)
