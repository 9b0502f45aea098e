"""Reading the database away from the UI thread, always through the store.

The app's searches and statistics may scan a large queue, so they run in worker
threads; an sqlite3 connection belongs to the thread that made it, so each worker
opens a `Reader` (read-only) of its own. Screens never open connections themselves.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from store.errors import QueryInterrupted
from store.export import ExportFilter, ledger_stats
from store.pg import PgConnection, raw_connection
from store.views import PageRequest, QueueFilter, QueueRow, page

if TYPE_CHECKING:
    from store.agreement import Agreement
    from store.chain import Checked
    from store.db import Connection
    from store.leads import ReviewerProgress, SourceProgress
    from store.practice import Period
    from store.stats import Stats


class Reader:
    """A read-only handle on the database for the thread that opens it.

    `interrupt()` may be called from any other thread: the query running in this one
    stops with an error (a newer search supersedes an older one).
    """

    def __init__(self, target: Path | str) -> None:
        self._conn: Connection
        self._path = None if isinstance(target, str) else target
        if isinstance(target, str):
            self._conn = PgConnection(raw_connection(target), target)
        else:
            self._conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
        self._lock = threading.Lock()
        self._closed = False

    def page(self, where: QueueFilter, request: PageRequest) -> list[QueueRow]:
        """A page of the queue under a filter (see `store.views.page`).

        Raises:
            QueryInterrupted: `interrupt()` stopped it.
        """
        try:
            return page(self._conn, where, request)
        except sqlite3.OperationalError as error:
            if "interrupt" in str(error):
                raise QueryInterrupted("the read was interrupted by a newer one") from None
            raise
        except Exception as error:
            if type(error).__name__ == "QueryCanceled":  # psycopg's, after cancel_safe()
                raise QueryInterrupted("the read was interrupted by a newer one") from None
            raise

    def matching(self, where: QueueFilter) -> int:
        """How many items a filter matches (see `store.views.matching`).

        Raises:
            QueryInterrupted: `interrupt()` stopped it.
        """
        from store.views import matching

        try:
            return matching(self._conn, where)
        except sqlite3.OperationalError as error:
            if "interrupt" in str(error):
                raise QueryInterrupted("the read was interrupted by a newer one") from None
            raise

    def progress(self) -> tuple[list[ReviewerProgress], list[SourceProgress]]:
        """Per reviewer and per source (see `store.leads.progress_of`)."""
        from store.leads import progress_of

        return progress_of(self._conn)

    def agreement(self) -> Agreement:
        """Agreement on the double-reviewed items (see `store.agreement`)."""
        from store.agreement import agreement, double_reviewed

        return agreement(double_reviewed(self._conn))

    def practice_trend(self) -> list[Period]:
        """Unaided practice accuracy per month (see `store.practice`)."""
        from store.practice import trend

        return trend(self._conn)

    def stats(self) -> Stats:
        """Decision statistics over the whole ledger, planted decisions included.

        Goes on from the figures kept by an earlier pass and keeps its own
        (`store.stats_kept`): on SQLite through a short-lived writable connection, this
        one being read-only.
        """
        return ledger_stats(self._conn, self._keep)

    def chain_range(self, after: int, through: int, linked: str | None) -> Checked:
        """Check the ledger's events `after`..`through` (see `store.chain.check_range`)."""
        from store.chain import check_range

        return check_range(self._conn, after, through, linked)

    def rendered(self, part: str, where: ExportFilter) -> tuple[int, str, int]:
        """(bytes, SHA-256, events) of a part of an export (`store.audit_ranges`).

        `part`: "csv" or "md" for the events `where` picks, "csv-head" or "md-head"
        for what comes before them.
        """
        from store.csv_cells import csv_lines
        from store.export import MD_TITLE
        from store.writers import CSV_COLUMNS, write_csv, write_md_decisions, write_md_head

        hashed = _Hashed()
        sink = cast("IO[str]", hashed)  # all the writers call is `write`
        events = 0
        if part == "csv-head":
            sink.write(csv_lines([[name] for name in CSV_COLUMNS]))
        elif part == "md-head":
            write_md_head(sink, self._conn, where, title=MD_TITLE)
        elif part == "csv":
            events = write_csv(sink, self._conn, where, header=False)
        else:
            events = write_md_decisions(sink, self._conn, where)
        return hashed.size, hashed.digest.hexdigest(), events

    def _keep(self, write: Callable[[Any], None]) -> None:
        from store.stats_kept import KEEP_WAIT_MS, keep_in

        if self._path is None:
            keep_in(self._conn, write)
            return
        try:
            writable = sqlite3.connect(self._path, isolation_level=None,
                                       timeout=KEEP_WAIT_MS / 1000)  # fmt: skip
        except sqlite3.Error:
            return  # not ours to write: the figures are still shown
        with closing(writable):
            keep_in(writable, write)

    def interrupt(self) -> None:
        """Stop the query running in the owning thread (safe from any thread)."""
        with self._lock:
            if self._closed:
                return
            if isinstance(self._conn, PgConnection):
                self._conn.cancel()
            else:
                self._conn.interrupt()

    def close(self) -> None:
        """Close the connection (from the owning thread)."""
        with self._lock:
            self._closed = True
        self._conn.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Hashed:
    """A text sink that keeps only the UTF-8 length and SHA-256 of what is written."""

    def __init__(self) -> None:
        import hashlib

        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        """Count and hash `text` as the file holds it."""
        data = text.encode("utf-8")
        self.size += len(data)
        self.digest.update(data)
        return len(text)
