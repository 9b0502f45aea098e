"""Text areas whose every edit is made visible first: the draft editor, the justification."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.message import Message
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult

from tui.safe import visible
from tui.widgets.watchers import forget


class SafeTextArea(TextArea):
    """A `TextArea` whose every edit (typing, paste, replace) is made visible first."""

    def edit(self, edit: Edit) -> EditResult:
        """Apply `edit` with its text made visible (newlines and tabs kept)."""
        edit.text = visible(edit.text, multiline=True)
        return super().edit(edit)

    def on_unmount(self) -> None:
        """Let go of the App.theme watcher and screen signal a TextArea keeps."""
        # Without this every box ever shown stays reachable: one per decision.
        forget(self)


class JustificationBox(SafeTextArea):
    """Where a justification is written: several lines, wrapped, all of them kept.

    Enter records (as the one-line box did); ctrl+j or alt+enter starts a new line;
    pasted text keeps its lines (the one-line box kept only the first, silently).
    """

    NEWLINE_KEYS: ClassVar[frozenset[str]] = frozenset({"ctrl+j", "alt+enter"})

    class Submitted(Message):
        """Enter was pressed: record."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, id=id, compact=True)

    @property
    def value(self) -> str:
        """The text written so far."""
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text)

    def insert_text_at_cursor(self, text: str) -> None:
        """Insert `text` where the cursor is (as `Input` does; made visible first)."""
        self.insert(text)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted())
            return
        if event.key in self.NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard("\n", start, end)
            return
        await super()._on_key(event)
