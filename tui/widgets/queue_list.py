"""The queue list: a window of rows fetched by keyset pages around the cursor.

It never holds more than a few screens of rows, so a million-item queue opens as
fast as a small one; moving past the window's edge fetches the next page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar, Protocol

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from store import QueryInterrupted
from store.views import PageRequest, QueueRow, RowKey
from tui.bindings import Remappable, bind
from tui.format import age, confidence_cell, plain, stakes_cell, worst_cell

Fetcher = Callable[[PageRequest], list[QueueRow]]
"""One of a RowSource's two ways to fetch a page."""


class RowSource(Protocol):
    """Where the list gets its rows: keyset pages of the queue under the current filter."""

    @property
    def slow(self) -> bool:
        """True when a page may scan (search or filters): then fetches run in a thread."""
        ...

    def __call__(self, request: PageRequest) -> list[QueueRow]:
        """Fetch a page on the app's own connection."""
        ...

    def in_thread(self, request: PageRequest) -> list[QueueRow]:
        """Fetch a page on a connection of the calling thread; `interrupt()` stops it."""
        ...

    def interrupt(self) -> None:
        """Abort the page being fetched in a thread, if any."""
        ...


class QueueList(Remappable, Widget, can_focus=True):
    """Keyboard-first list of queue rows with a cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("queue.down", "cursor(1)"),
        bind("queue.up", "cursor(-1)"),
        bind("queue.page_down", "page(1)", show=False),
        bind("queue.page_up", "page(-1)", show=False),
        bind("queue.top", "top", show=False),
        bind("queue.bottom", "bottom", show=False),
        bind("queue.open", "open"),
    ]
    DEFAULT_CSS = """
    QueueList { height: 1fr; }
    """

    cursor: reactive[int] = reactive(0)
    """Index of the highlighted row within the loaded window."""

    class Opened(Message):
        """The reviewer asked to open the highlighted item."""

        def __init__(self, item_id: int) -> None:
            super().__init__()
            self.item_id = item_id

    def __init__(
        self, source: RowSource, now: Callable[[], dt.datetime], *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.source = source
        self._now = now
        self.rows: list[QueueRow] = []
        """The loaded window, in review order."""
        self.top = 0
        """Index of the first visible row within `rows`."""
        self.empty_message = "Nothing to review."
        self.fetching = False
        """A background fetch is running (slow filters only)."""
        self._generation = 0

    @property
    def page_size(self) -> int:
        """Rows that fit on screen."""
        return max(1, self.size.height)

    @property
    def current(self) -> QueueRow | None:
        """The highlighted row, if any."""
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def reload(self, keep: RowKey | None = None) -> None:
        """Fetch from the top again, keeping the cursor near `keep` if given."""
        size = max(self.page_size * 2, 40)

        def fetch(get: Fetcher) -> list[QueueRow]:
            if keep is None:
                return get(PageRequest(limit=size))
            above = get(PageRequest(before=(keep[0], keep[1], keep[2] + 1), limit=self.page_size))
            return above + get(PageRequest(after=above[-1].key if above else None, limit=size))

        self._load(fetch, lambda rows: self._replace(rows, keep), fresh=True)

    def _replace(self, rows: list[QueueRow], keep: RowKey | None) -> None:
        self.rows = rows
        self.cursor = 0
        if keep is not None and rows:
            index = next((i for i, r in enumerate(rows) if r.key >= keep), len(rows) - 1)
            self.cursor = index
        self.top = max(0, self.cursor - self.page_size // 2) if keep is not None else 0

    def _load(
        self,
        fetch: Callable[[Fetcher], list[QueueRow]],
        apply: Callable[[list[QueueRow]], None],
        *,
        fresh: bool = False,
    ) -> None:
        """Run `fetch` now (fast pages) or in a thread (slow filters), then `apply` it.

        `fresh` loads replace the window: while they run in a thread the list says
        "Searching…" rather than showing rows of the previous filter.
        """
        self._generation += 1
        generation = self._generation
        if not self.source.slow:
            apply(fetch(self.source))
            self.fetching = False
            self.refresh()
            return
        self.source.interrupt()  # a newer request makes the older one pointless
        self.fetching = True
        if fresh:
            self.rows, self.cursor, self.top = [], 0, 0
        self.refresh()

        def work() -> None:
            try:
                rows = fetch(self.source.in_thread)
            except QueryInterrupted:
                return  # a newer request superseded it
            self.app.call_from_thread(self._finish, generation, apply, rows)

        self.run_worker(work, thread=True, group="rows")

    def _finish(
        self, generation: int, apply: Callable[[list[QueueRow]], None], rows: list[QueueRow]
    ) -> None:
        if generation != self._generation:
            return
        apply(rows)
        self.fetching = False
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by `delta` rows, fetching past the window's edges."""
        self._move(delta)

    def action_page(self, direction: int) -> None:
        """Move by a screenful."""
        self._move(direction * self.page_size)

    def action_top(self) -> None:
        """Jump to the first row."""
        self.reload()

    def action_bottom(self) -> None:
        """Jump to the last row."""
        size = max(self.page_size * 2, 40)

        def apply(rows: list[QueueRow]) -> None:
            self.rows = rows
            self.cursor = max(0, len(rows) - 1)
            self.top = max(0, len(rows) - self.page_size)

        self._load(lambda get: get(PageRequest(from_end=True, limit=size)), apply, fresh=True)

    def action_open(self) -> None:
        """Open the highlighted item."""
        if self.current is not None:
            self.post_message(self.Opened(self.current.id))

    def _move(self, delta: int) -> None:
        if not self.rows or self.fetching:
            return
        target = self.cursor + delta
        limit = max(self.page_size, abs(delta))
        if target >= len(self.rows):
            last = self.rows[-1].key

            def append(rows: list[QueueRow]) -> None:
                self.rows.extend(rows)
                self._place(target)

            self._load(lambda get: get(PageRequest(after=last, limit=limit)), append)
        elif target < 0:
            first = self.rows[0].key

            def prepend(rows: list[QueueRow]) -> None:
                self.rows[:0] = rows
                self.cursor += len(rows)
                self.top += len(rows)
                self._place(target + len(rows))

            self._load(lambda get: get(PageRequest(before=first, limit=limit)), prepend)
        else:
            self._place(target)
            self.refresh()

    def _place(self, target: int) -> None:
        self.cursor = max(0, min(target, len(self.rows) - 1))
        self._trim()
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.page_size:
            self.top = self.cursor - self.page_size + 1

    def _trim(self) -> None:
        """Drop rows far from the view, so the window stays a few screens long."""
        keep = self.page_size * 3
        if self.top > keep:
            drop = self.top - keep
            del self.rows[:drop]
            self.top -= drop
            self.cursor -= drop
        end = self.top + self.page_size + keep
        if len(self.rows) > end:
            del self.rows[end:]

    def on_click(self, event: events.Click) -> None:
        """Click selects a row; a second click on it opens it."""
        index = self.top + event.y
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.action_open()
            self.cursor = index
            self.refresh()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """The wheel moves the cursor."""
        event.stop()
        self._move(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """The wheel moves the cursor."""
        event.stop()
        self._move(-3)

    def on_resize(self) -> None:
        """Keep the cursor visible when the terminal changes size."""
        if self.cursor >= self.top + self.page_size:
            self.top = self.cursor - self.page_size + 1

    def render(self) -> Text:
        """The visible rows as fixed-width columns."""
        if self.fetching and not self.rows:
            return Text("Searching…", style="dim italic")
        if not self.rows:
            return Text(self.empty_message, style="dim italic")
        width = self.size.width
        now = self._now()
        lines = [
            self._line(row, width, now, index == self.cursor)
            for index, row in enumerate(self.rows[self.top : self.top + self.page_size], self.top)
        ]
        return Text("\n").join(lines)

    def _line(self, row: QueueRow, width: int, now: dt.datetime, selected: bool) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        mark = {"claimed": "●", "decided": "✓", "escalated": "↑"}.get(row.state, " ")
        line.append(f"{mark} ", style="bold cyan" if row.state == "claimed" else "")
        line.append_text(stakes_cell(row.stakes))
        line.append(" ")
        line.append_text(confidence_cell(row.confidence, row.confidence_basis))
        line.append(" ")
        line.append_text(worst_cell(row.worst_limit))
        line.append(" ")
        line.append_text(_fit(row.source, 9, "blue"))
        line.append(" ")
        line.append_text(_fit(row.kind, 7, "dim"))
        line.append(" ")
        when = age(row.created_at, now).rjust(4)
        who = f" @{row.claimed_by}" if row.claimed_by else ""
        used = cell_len(line.plain) + 1 + len(when)
        title = row.title or row.external_id
        line.append_text(_fit(f"{row.external_id} {title}" + who, max(4, width - used)))
        line.append(" " + when, style="dim")
        if selected:
            line.stylize("reverse" if self.has_focus else "underline")
        return line


def _fit(text: str, width: int, style: str = "") -> Text:
    cell = plain(text, style=style)
    cell.truncate(width, overflow="ellipsis", pad=True)
    return cell


COLUMNS_HEADER = "  risk confidence     limit source    kind    item"
"""Column titles above the list, aligned with `QueueList._line`."""
