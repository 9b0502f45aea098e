"""The queue screen: what is waiting, in review order, with filters and search."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static

from store import Store
from store.views import PageRequest, QueueFilter, QueueRow
from tui.bindings import Remappable, bind
from tui.safe import safe_text
from tui.widgets.footer import Footer
from tui.widgets.preview import PREVIEW_MIN_WIDTH, preview
from tui.widgets.queue_list import COLUMNS_HEADER, QueueList
from tui.widgets.safe_inputs import SafeInput

if TYPE_CHECKING:
    from textual.timer import Timer

    from store.reader import Reader
    from tui.app import SignoffApp


LIVE_EVERY_S = 0.5
"""How often the queue checks whether another process changed the database."""


class QueueScreen(Remappable, Screen[None]):
    """Pending and claimed items; Enter opens one (and claims it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("queue.next", "next_item"),
        bind("queue.filter", "filter"),
        bind("queue.search", "search"),
        bind("queue.refresh", "refresh"),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self._preview_timer: Timer | None = None
        self.rows = QueueRows(store)
        """The list's row source; holds the active filter."""

    @property
    def where(self) -> QueueFilter:
        """The active filter."""
        return self.rows.where

    @where.setter
    def where(self, value: QueueFilter) -> None:
        self.rows.where = value

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        return cast("SignoffApp", self.app)

    def compose(self) -> ComposeResult:
        """Top bar, filter line, column titles, list, footer (the search box comes later)."""
        yield Static(id="topbar")
        with Horizontal(id="filterbar"):
            yield Static(id="filter-summary")
        with Horizontal(id="queue-body"):
            with Vertical(id="queue-side"):
                yield Static(Text(COLUMNS_HEADER, style="bold dim"), id="columns")
                yield QueueList(self.rows, self.signoff.now, id="queue")
            with VerticalScroll(id="preview"):
                yield Static(id="preview-body")
        yield Footer()

    def on_mount(self) -> None:
        """Set up; the first page loads when the screen is first shown (`on_screen_resume`)."""
        self.query_one(QueueList).focus()
        # Other reviewers claim and decide too, and leads import: the list follows within
        # a second when another process commits (a keyset reload is cheap at any size);
        # a search (a scan on a large queue) follows every 15 s.
        self._seen = self.signoff.store.data_version()
        self.set_interval(LIVE_EVERY_S, self._live_refresh)
        self.watch(self.query_one(QueueList), "cursor", self._cursor_moved, init=False)
        self._fit_preview()
        self.set_interval(15, self._periodic_refresh)

    def on_resize(self) -> None:
        """Wide enough for a preview beside the list?"""
        self._fit_preview()

    def _fit_preview(self) -> None:
        pane = self.query_one("#preview")
        wide = self.size.width >= PREVIEW_MIN_WIDTH
        if pane.display != wide:
            pane.display = wide
            self._cursor_moved()

    def _cursor_moved(self) -> None:
        # After the cursor rests (holding a key down must not fetch every row passed).
        if self.query_one("#preview").display:
            if self._preview_timer is not None:
                self._preview_timer.stop()
            self._preview_timer = self.set_timer(0.05, self._show_preview)

    def _show_preview(self) -> None:
        body = self.query_one("#preview-body", Static)
        row = self.query_one(QueueList).current
        if row is None:
            body.update(Text("Nothing highlighted.", style="dim italic"))
            return
        store = self.signoff.store
        item = store.get_item(row.id)
        body.update(preview(item, store.requirements_for(item, self.signoff.reviewer)))

    def _live_refresh(self) -> None:
        version = self.signoff.store.data_version()
        if version == self._seen or self.where.search:
            return
        self._seen = version
        self._periodic_refresh()

    def _periodic_refresh(self) -> None:
        box = self._search_box()
        if self.is_current and not (box is not None and box.has_focus):
            self.refresh_queue(keep=self.query_one(QueueList).current)

    def on_screen_resume(self) -> None:
        """Shown first, or again after an item: counts and rows may have changed."""
        current = self.query_one(QueueList).current
        self.refresh_queue(keep=current)

    def refresh_queue(self, keep: QueueRow | None = None) -> None:
        """Reload the list and the top bar."""
        queue = self.query_one(QueueList)
        queue.empty_message = (
            f"No items match this filter. Press {self.signoff.key_display('queue.filter')} "
            "to change it."
            if self.where != QueueFilter()
            else "Nothing to review. Add drafts with `signoff import FILE.jsonl`."
        )
        queue.reload(keep.key if keep else None)
        self._cursor_moved()  # the rows changed under the cursor
        self.query_one("#topbar", Static).update(self.signoff.topbar())
        self._summary(None)
        if self.rows.slow:
            self._count(self.where)

    def _summary(self, matched: int | None) -> None:
        summary = Text("showing ", style="dim")
        summary.append_text(safe_text(self.where.describe(), style="bold"))
        if matched is not None:
            summary.append(f"  {matched:,} match{'es' if matched != 1 else ''}", style="bold")
        summary.append(
            f"  ({self.signoff.key_display('queue.filter')} filter, "
            f"{self.signoff.key_display('queue.search')} search)",
            style="dim",
        )
        self.query_one("#filter-summary", Static).update(summary)

    @work(thread=True, exclusive=True, group="count", exit_on_error=False)
    def _count(self, where: QueueFilter) -> None:
        # A search may scan the queue: counted in a worker, on a reader of its own.
        with self.signoff.store.reader() as reader:
            matched = reader.matching(where)
        self.app.call_from_thread(self._counted, where, matched)

    def _counted(self, where: QueueFilter, matched: int) -> None:
        if where == self.where:  # not a count for a filter since replaced
            self._summary(matched)

    def on_queue_list_opened(self, message: QueueList.Opened) -> None:
        """Enter on a row: claim it and open it."""
        self.signoff.open_item(message.item_id)

    def action_next_item(self) -> None:
        """Claim the next item in priority order."""
        self.signoff.open_next()

    def action_refresh(self) -> None:
        """Reload rows and counts."""
        self.refresh_queue(keep=self.query_one(QueueList).current)

    def _search_box(self) -> Input | None:
        """The search box, once the reviewer first asked for it."""
        found = self.query("#search")
        return cast(Input, found.first()) if found else None

    async def action_search(self) -> None:
        """Show the search box."""
        box = self._search_box()
        if box is None:
            # Mounted on first use: composed hidden, it cost ~9 ms of every start to the
            # first row (the widget, its stylesheet), for a search most sessions never run.
            box = SafeInput(placeholder="search ids, titles and drafts; Enter applies", id="search")
            await self.query_one("#filterbar").mount(box)
        box.display = True
        box.value = self.where.search
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Apply the search and return to the list."""
        event.stop()
        self._set_search(event.value.strip())

    def key_escape(self) -> None:
        """Escape in the search box clears and closes it."""
        box = self._search_box()
        if box is not None and box.has_focus:
            self._set_search("")

    def _set_search(self, text: str) -> None:
        self.query_one(QueueList).focus()  # before hiding the box that has focus
        box = self._search_box()
        if box is not None:
            box.display = False
        self.where = replace(self.where, search=text)
        self.refresh_queue()

    def action_filter(self) -> None:
        """Open the filter dialog."""
        from tui.screens.filter import FilterScreen

        def apply(result: QueueFilter | None) -> None:
            if result is not None:
                self.where = result
                self.refresh_queue()

        self.app.push_screen(FilterScreen(self.where, self.signoff.sources()), apply)


class QueueRows:
    """Keyset pages of the queue under a filter, for `QueueList`.

    Unfiltered pages are index ranges (a few ms at any depth) and run on the app's
    connection. A search or a filter may scan the queue, so those pages run in a worker
    thread on a connection of its own, which a newer request interrupts.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.where = QueueFilter()
        """The active filter."""
        self._lock = threading.Lock()
        self._active: Reader | None = None

    @property
    def slow(self) -> bool:
        """True when the filter narrows by anything other than status."""
        return replace(self.where, status="open") != QueueFilter()

    def __call__(self, request: PageRequest) -> list[QueueRow]:
        """A page on the app's connection."""
        return self.store.page(self.where, request)

    def in_thread(self, request: PageRequest) -> list[QueueRow]:
        """A page read in the calling (worker) thread, through a reader of its own."""
        where = self.where
        with self.store.reader() as reader:
            with self._lock:
                self._active = reader
            try:
                return reader.page(where, request)
            finally:
                with self._lock:
                    self._active = None

    def interrupt(self) -> None:
        """Stop the worker's query (a newer request supersedes it)."""
        with self._lock:
            if self._active is not None:
                self._active.interrupt()
