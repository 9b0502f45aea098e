"""The draft editor's text area: every edit is made visible before it lands."""

from __future__ import annotations

from textual.document._document import EditResult
from textual.document._edit import Edit
from textual.widgets import TextArea

from tui.safe import visible


class SafeTextArea(TextArea):
    """A `TextArea` whose every edit (typing, paste, replace) is made visible first."""

    def edit(self, edit: Edit) -> EditResult:
        """Apply `edit` with its text made visible (newlines and tabs kept)."""
        edit.text = visible(edit.text, multiline=True)
        return super().edit(edit)
