"""The Stats screen: reviewers' habits and how often the AI was overridden, by confidence."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from store import Store
from store.agreement import Agreement
from store.practice import Period
from store.reader import Reader
from store.stats import Stats
from tui.bindings import Remappable, bind
from tui.stats_view import (
    agreement_table,
    band_rows,
    calibration_chart,
    practice_view,
    stats_tables,
)
from tui.widgets.footer import Footer


class StatsScreen(Remappable, ModalScreen[None]):
    """Computed in a worker thread on its own connection: a long ledger never blocks keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.cancel", "dismiss", priority=True, description="close"),
        bind("app.stats", "dismiss(None)", show=False),  # its own key toggles it
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._reader: Reader | None = None
        self._closed = False

    def compose(self) -> ComposeResult:
        """Title, chart, tables (filled when the figures are ready)."""
        with VerticalScroll(id="help"):
            yield Label(Text("Decision statistics", style="bold"), classes="dialog-title")
            yield Static(Text("Counting…", style="dim italic"), id="stats-body")
        yield Footer()

    def on_mount(self) -> None:
        """Start counting in the background."""
        self.run_worker(self._compute, thread=True)

    def _compute(self) -> None:
        # A worker thread: a reader of its own (connections belong to one thread).
        with self.store.reader() as reader:
            self._reader = reader
            try:
                if self._closed:
                    return
                figures = reader.stats()
                overlap = reader.agreement()
                practice = reader.practice_trend()
            except Exception:
                if self._closed:
                    return  # closed while counting: the interrupted read is the point
                raise
            finally:
                self._reader = None
        if not self._closed:
            self.app.call_from_thread(self._show, figures, overlap, practice)

    def on_unmount(self) -> None:
        """Closed: stop the count (a million events took 27-34 s); reopening starts anew."""
        self._closed = True
        reader = self._reader
        if reader is not None:
            reader.interrupt()

    def _show(self, figures: Stats, overlap: Agreement, practice: list[Period]) -> None:
        heading = Text(
            "Overridden or rejected, by the confidence the reviewer was shown\n"
            "(if confidence were calibrated, the bars would shrink as it grows)",
            style="bold",
        )
        catches, *tables = stats_tables(figures)
        # Catches first (where it is known whether the AI was right), then calibration.
        parts: list[RenderableType] = [catches, Text(""), heading,
                                       calibration_chart(band_rows(figures)), Text("")]  # fmt: skip
        for table in tables:
            parts += [table, Text("")]
        parts += [agreement_table(overlap), Text(""), practice_view(practice)]
        self.query_one("#stats-body", Static).update(Group(*parts))
