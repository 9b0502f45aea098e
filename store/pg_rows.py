"""How the store's statements and rows travel to PostgreSQL (`store.pg`).

Placeholders translated, a statement sent (`send`: searches planned afresh), a plain
insert's rows grouped into few statements, a long result read many rows a round trip or
streamed, numbers loaded as SQLite gives them, a server's error as one line (and a
refused privilege as the user's). Kept apart from the connection itself.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, cast

from store.errors import StoreError

if TYPE_CHECKING:
    import psycopg

Params = Sequence[Any] | dict[str, Any]
"""A statement's parameters, by position or by name."""

SCAN_ROWS: Final = 2000
"""Rows a scan's server-side cursor brings over per round trip, and a stream's chunk."""

_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """The store's SQL (SQLite's `?` and `:name` placeholders) in psycopg's style.

    Literal `%` doubles (psycopg reads `%` as a placeholder); SQLite's LIKE ignores ASCII
    case and PostgreSQL's does not, so the store's searches become ILIKE. Cached: the
    store sends the same few hundred statement texts over and over.
    """
    text = sql.replace("%", "%%").replace("?", "%s")
    text = _NAMED.sub(r"%(\1)s", text)
    return re.sub(r"\bLIKE\b", "ILIKE", text)


@lru_cache(maxsize=512)
def _prepare(sql: str) -> bool | None:
    """False for a statement whose best plan depends on its search term (see `execute`)."""
    return False if re.search(r"\bLIKE\b", sql) else None


def send(raw: psycopg.Connection[Any], sql: str, params: Params) -> Any:
    """One statement in psycopg's style on the raw connection; its cursor."""
    # A search (LIKE) is planned for its own term every time: psycopg prepares a
    # statement after five runs, and PostgreSQL's generic plan for a prepared search
    # cannot know the term and walks the order index past the trigram indexes
    # (at 100k items: ~28 ms from the sixth search on, ~74 ms).
    return raw.execute(translate(sql), params or None, prepare=_prepare(sql))


def refused(error: BaseException) -> StoreError:
    """A privilege the login lacks, as the user's line."""
    return StoreError(f"{first_line(error)} (a lead's login may)")


_ROWS_A_STATEMENT: Final = 100
"""Rows of a plain `INSERT … VALUES` sent as one statement by `PgConnection.executemany`."""
_PLAIN_INSERT = re.compile(r"(INSERT INTO \w+ \([\w, ]+\) VALUES )(\(\?(?:, \?)*\))")


def many_rows(sql: str, rows: Sequence[Params]) -> list[tuple[str, list[Params]]]:
    """`executemany`'s statements: a plain insert takes `_ROWS_A_STATEMENT` rows each.

    Sent a row a statement, each row was parsed, planned, run and answered on its own
    (a team import's batch is 500 rows). Other statements, and inserts with anything
    after their `VALUES`, still go a row a statement. Row triggers fire as before.
    """
    plain = _PLAIN_INSERT.fullmatch(sql)
    if plain is None or len(rows) < 2:
        return [(translate(sql), list(rows))]
    head, row = plain.groups()

    def grouped(count: int) -> str:
        return translate(head + ", ".join([row] * count))

    def flat(start: int, stop: int) -> Params:
        return [value for params in rows[start:stop] for value in cast(Sequence[Any], params)]

    whole = len(rows) - len(rows) % _ROWS_A_STATEMENT
    out: list[tuple[str, list[Params]]] = []
    if whole:
        step = _ROWS_A_STATEMENT
        out.append((grouped(step), [flat(at, at + step) for at in range(0, whole, step)]))
    if len(rows) > whole:
        out.append((grouped(len(rows) - whole), [flat(whole, len(rows))]))
    return out


class Scan:
    """A server-side cursor brought over `SCAN_ROWS` rows a round trip, read as asked.

    psycopg's `fetchmany(n)` on a named cursor is a round trip for every n rows: the
    CSV export asks 128 at a time, stats 256, so a team export of a million events
    made ~7,800 round trips (at 10 ms away, 78 s of waiting) where 500 do.
    """

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._rows: list[Any] = []
        self._at = 0
        self._more = True

    def fetchmany(self, size: int) -> list[Any]:
        """The next `size` rows (fewer at the end; none after it)."""
        while self._more and len(self._rows) - self._at < size:
            fetched = self._cursor.fetchmany(SCAN_ROWS)
            self._more = len(fetched) == SCAN_ROWS
            self._rows, self._at = self._rows[self._at :] + fetched, 0
        batch = self._rows[self._at : self._at + size]
        self._at += len(batch)
        return batch

    def __iter__(self) -> Iterator[Any]:
        while batch := self.fetchmany(SCAN_ROWS):
            yield from batch


class Streamed:
    """A result the server sends while it is read (`PgConnection.stream`), read as asked.

    Iterated, or `fetchmany` as a cursor: the same rows either way, in order.
    """

    def __init__(self, rows: Iterator[Any]) -> None:
        self._rows = rows

    def fetchmany(self, size: int) -> list[Any]:
        """The next `size` rows (fewer at the end; none after it)."""
        return list(itertools.islice(self._rows, size))

    def __iter__(self) -> Iterator[Any]:
        return self._rows

    def drain(self) -> None:
        """Read what is left, so the connection (and its transaction) can go on."""
        deque(self._rows, maxlen=0)


@contextmanager
def streamed(cursor: Any, sql: str, params: Sequence[Any] = ()) -> Iterator[Streamed]:
    """A result the server sends in chunks of `SCAN_ROWS` while it is read.

    For a pass that does nothing else on the connection until it ends (stats, an
    export, the chain's check). A `Scan` asks for each chunk, and the server waits
    between asks; a stream is one round trip in all, the server sending as the client
    reads, and its plan may use parallel workers (a cursor's may not). A million
    events' stats columns: 1.9 s through a cursor, 1.2 s streamed. Left before its
    end, the rest is read, so the transaction it is in goes on; not when interrupted
    (psycopg then cancels the statement).
    """
    rows = cursor.stream(translate(sql), params or None, size=SCAN_ROWS)
    try:
        try:  # the statement is sent when the stream is first read
            first = [next(rows)]
        except StopIteration:
            first = []
        result = Streamed(itertools.chain(first, rows))
        try:
            yield result
        except Exception:
            with suppress(Exception):
                result.drain()
            raise
        result.drain()
    finally:
        rows.close()


def first_line(error: BaseException) -> str:
    """A server or driver error as one line (libpq's messages span several)."""
    text = " ".join(str(error).split("\n")[0].split())
    return text.removeprefix("connection failed: ") or type(error).__name__


def numbers_as_python(raw: psycopg.Connection[Any]) -> None:
    """`sum()` and `avg()` come back as int/float, as from SQLite, not `Decimal`."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return float(text) if "." in text or "e" in text.lower() else int(text)

    raw.adapters.register_loader("numeric", NumericLoader)
