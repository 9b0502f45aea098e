"""One line above the footer: the decision just recorded, and the key that undoes it.

A Textual notice per decision stacked up under a fast reviewer — eight at a time over
the panels, all but the newest naming a decision undo would no longer take back — and
Textual cannot take one back without leaving its holder mounted (RSS 64 → 173 MB over
1,000 decisions; `docs/upstream/textual_toast_holders.py`). This line is one widget the
item screen keeps: each decision replaces its text, an undo clears it, and it hides
itself after `SHOW_S`. Nothing is mounted per decision.
"""

from __future__ import annotations

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

SHOW_S = 8.0
"""How long the line stays (a Textual notice stays 5 s; this one is never stale)."""


class RecordedLine(Static):
    """`say("Recorded approve on T-1. u undoes it.")`, `forget()`; hidden when empty."""

    DEFAULT_CSS = """
    RecordedLine {
        height: auto;
        max-height: 2;
        padding: 0 1;
        background: $success-muted;
        color: $text;
        display: none;
    }
    """

    _hide: Timer | None = None
    said: str | None = None
    """What the line shows now, or None while it is hidden."""

    def say(self, text: str) -> None:
        """Show `text` (already made visible by the caller) for `SHOW_S` seconds."""
        self.said = text
        self.update(Text(text))
        self.display = True
        if self._hide is not None:
            self._hide.stop()
        self._hide = self.set_timer(SHOW_S, self.forget)

    def forget(self) -> None:
        """Hide the line (its decision was undone, or its time is up)."""
        if self._hide is not None:
            self._hide.stop()
            self._hide = None
        self.said = None
        self.display = False
