"""The progress view: per reviewer and per source, as terminal charts.

Counted in a worker thread on a reader of its own, like the statistics: a long ledger
never holds up the keys.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from store import ReviewerProgress, SourceProgress, Store
from tui.bindings import Remappable, bind
from tui.progress_view import reviewer_chart, source_chart
from tui.widgets.footer import Footer


class ProgressScreen(Remappable, ModalScreen[None]):
    """Who has done what, what waits for whom, how each source stands."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.cancel", "dismiss", priority=True, description="close"),
        bind("app.progress", "dismiss(None)", show=False),  # its own key toggles it
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        """Title and the charts (filled when counted)."""
        with VerticalScroll(id="help"):
            yield Label(Text("Progress", style="bold"), classes="dialog-title")
            yield Static(Text("Counting…", style="dim italic"), id="progress-body")
        yield Footer()

    def on_mount(self) -> None:
        """Count in the background."""
        self.run_worker(self._count, thread=True, exit_on_error=False)

    def _count(self) -> None:
        with self.store.reader() as reader:
            people, sources = reader.progress()
        self.app.call_from_thread(self._show, people, sources)

    def _show(self, people: list[ReviewerProgress], sources: list[SourceProgress]) -> None:
        parts = [
            Text("Reviewers (green: decisions standing; grey: assigned, waiting)", style="bold"),
            reviewer_chart(people) if people else Text("no decisions or assignments yet"),
            Text(""),
            Text("Sources", style="bold"),
            source_chart(sources) if sources else Text("the queue is empty"),
        ]
        self.query_one("#progress-body", Static).update(Group(*parts))
