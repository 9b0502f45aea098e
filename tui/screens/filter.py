"""The filter dialog: narrow the queue by status, source, kind, stakes and confidence."""

from __future__ import annotations

from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select

from providers.base import STAKES, Stakes
from store.views import BINS, STATUS_FILTERS, ConfidenceBin, QueueFilter, StatusFilter
from tui.bindings import Remappable, TextForm, bind
from tui.safe import safe_text
from tui.widgets.safe_inputs import SafeInput


class FilterScreen(TextForm, Remappable, ModalScreen[QueueFilter | None]):
    """Pick filters; `dialog.submit` applies, `dialog.cancel` leaves them as they were."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.submit", "apply", priority=True),
        bind("dialog.cancel", "cancel", priority=True),
    ]

    def __init__(self, current: QueueFilter, sources: list[str]) -> None:
        super().__init__()
        self.current = current
        self.sources = sources

    def compose(self) -> ComposeResult:
        """One row per filter, then the buttons."""
        where = self.current
        # One compact row per filter: the whole dialog fits 80x24 (it ran off the
        # bottom with a label above each full-height field).
        fields: list[tuple[str, Widget]] = [
            ("status", Select([(s, s) for s in STATUS_FILTERS], value=where.status,
                              allow_blank=False, id="status", compact=True)),
            ("source", Select([(safe_text(s), s) for s in self.sources], prompt="any source",
                              value=where.source if where.source in self.sources else Select.NULL,
                              id="source", compact=True)),
            ("kind", SafeInput(value=where.kind or "", id="kind", compact=True,
                               placeholder="any kind (reply, summary, score, …)")),
            ("stakes", Select([(s, s) for s in STAKES], prompt="any stakes",
                              value=where.stakes or Select.NULL, id="stakes", compact=True)),
            ("confidence", Select([(b, b) for b in BINS], prompt="any confidence",
                                  value=where.band or Select.NULL, id="band", compact=True)),
        ]  # fmt: skip
        with Vertical(id="dialog", classes="filter"):
            yield Label("Filter the queue", classes="dialog-title")
            for label, field in fields:
                with Horizontal(classes="filter-row"):
                    yield Label(label)
                    yield field
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply", compact=True)
                yield Button("Clear", id="clear", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons mirror the keys."""
        if event.button.id == "apply":
            self.action_apply()
        elif event.button.id == "clear":
            self.dismiss(QueueFilter(search=self.current.search))
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        """Enter in the kind box applies."""
        self.action_apply()

    def action_apply(self) -> None:
        """Close with the chosen filter."""

        def chosen(widget_id: str) -> str | None:
            value = self.query_one(f"#{widget_id}", Select).value
            return None if value is Select.NULL else str(value)

        kind = self.query_one("#kind", Input).value.strip().lower() or None
        self.dismiss(
            QueueFilter(
                status=cast(StatusFilter, chosen("status") or "open"),
                source=chosen("source"),
                kind=kind,
                stakes=cast(Stakes | None, chosen("stakes")),
                band=cast(ConfidenceBin | None, chosen("band")),
                search=self.current.search,
            )
        )

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
