"""An item opened read-only: its draft and its whole ledger history, newest first.

Decided and escalated items open here (they have nothing left to claim); the same text
as `signoff show ID`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from store import Event, Item
from tui.bindings import Remappable, bind
from tui.history import history_lines, item_header, undone_by
from tui.safe import safe_text
from tui.widgets.footer import Footer


class HistoryScreen(Remappable, Screen[None]):
    """Read-only: nothing here claims or records anything."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("item.back", "back"),
        bind("item.report", "report"),
    ]

    def __init__(
        self, item: Item, events: list[Event], incidents: list[list[str]] | None = None
    ) -> None:
        super().__init__()
        self.item = item
        self.events = events
        self.incidents = incidents or []

    def compose(self) -> ComposeResult:
        """Header, draft, history."""
        yield Static(item_header(self.item), id="topbar")
        with VerticalScroll(id="history"):
            yield Static(self._body(), id="history-body")
        yield Footer()

    def _body(self) -> RenderableType:
        parts: list[RenderableType] = [
            Text("Draft", style="bold"),
            safe_text(self.item.draft, multiline=True),
            Text(""),
        ]
        if not self.events:
            parts.append(Text("No decisions recorded on this item yet.", style="dim italic"))
        else:
            count = len(self.events)
            parts.append(Text(f"History, newest first ({count} event"
                              f"{'s' if count != 1 else ''})", style="bold"))  # fmt: skip
            for block in history_lines(self.events, undone_by(self.events)):
                parts += [block, Text("")]
        if self.incidents:
            parts.append(Text("Incidents and complaints", style="bold"))
            for lines in self.incidents:  # `tui.history.incident_lines`
                parts += [safe_text("\n".join(lines), multiline=True), Text("")]
        return Group(*parts)

    def action_report(self) -> None:
        """Report an incident or complaint against the decision that stands here."""
        from tui.app import SignoffApp
        from tui.screens.incidents import report_incident

        if isinstance(self.app, SignoffApp):
            report_incident(self.app, self.item, self.events)

    def action_back(self) -> None:
        """Back to the queue."""
        self.dismiss()
