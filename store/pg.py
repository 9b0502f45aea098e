"""The PostgreSQL engine: a connection that speaks the store's SQL, and its write lock.

The store's rules (`store.queue`, `store.ledger`, `store.review`, ...) are written
once, in Python, over SQL that both engines accept: standard statements, `ON CONFLICT`
upserts, `RETURNING`. The only mechanical difference, the placeholder style, is
translated once per statement text (`store.pg_rows.translate`: `?` → `%s`, `:name` →
`%(name)s`). Where the two engines differ in substance, each has its own SQL:
statements in `store.dialect`, transactions here (the write lock, the snapshot, the
claim).

Write transactions take one transaction-scoped advisory lock, so writers run one at a
time exactly as SQLite's `BEGIN IMMEDIATE` makes them: every rule that reads, checks and
then writes (one decision per claim, the two-person rule, planting) holds on both
engines for the same reason. The one exception is taking the next item, a single
`FOR UPDATE SKIP LOCKED` statement that row locks keep apart (`write(locked=False)`). The ledger's
link trigger locks the chain-head row as well, so a writer that bypasses the store
(psql) still cannot fork the chain. Each write transaction ends with one
`NOTIFY signoff` (never per row), which is how open queues on other machines learn of
it (`store.pg_open.Listener`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from store.errors import ConnectionLost, DatabaseBusy, StoreError, busy_message
from store.pg_rows import Params as Params
from store.pg_rows import Scan, Streamed, numbers_as_python, refused, send, streamed
from store.pg_rows import first_line as first_line
from store.pg_rows import many_rows as _many_rows
from store.pg_rows import translate as translate

if TYPE_CHECKING:
    import psycopg

WRITE_LOCK: Final = 0x5157_0FF0
"""The advisory lock key every signoff write transaction holds (one writer at a time)."""
CHANNEL: Final = "signoff"
"""The NOTIFY channel: one coarse notice per committed write transaction."""
RECONNECT_S: Final = 10.0
"""How long a broken connection is retried before the store gives up (a server restart
takes a few seconds)."""
LOCK_TIMEOUT_MS: Final = 5000
"""How long a writer waits for another's lock before `DatabaseBusy` (as on SQLite)."""
_LOCK: Final = f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"
_COMMIT: Final = ((f"SELECT pg_notify('{CHANNEL}', pg_backend_pid()::text)", ()), ("COMMIT", ()))
"""A write's end: one notice to the other sessions, and the commit (one round trip)."""

_SCANS = itertools.count(1)


def _begin(*, durable: bool, locked: bool, wait_ms: int) -> tuple[str, ...]:
    """A write's first statements: begin, its lock wait and commit settings, the lock."""
    return (
        "BEGIN",
        f"SELECT set_config('lock_timeout', '{wait_ms}', true)"
        + ("" if durable else ", set_config('synchronous_commit', 'off', true)"),
        *((_LOCK,) if locked else ()),
    )


def is_url(target: object) -> bool:
    """Whether a `--db` value names a PostgreSQL database rather than a SQLite file."""
    return str(target).lower().startswith(("postgresql://", "postgres://"))


def display(url: str) -> str:
    """The URL without its password, for messages and status lines."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1@", url)


_STREAM_PLAN: Final = (
    "SET LOCAL enable_sort = off",
    "SET LOCAL jit = off",
    "SET LOCAL max_parallel_workers_per_gather = 0",
)
"""How a stream is planned: read in index order by one server process, not compiled.

Without sorts where an index gives the order: a million events joined to their items
and sorted sent nothing for ~1.2 s, where index order sends at once (CSV export 5.9 →
4.9 s). Without JIT and parallel workers: the export's join (cost ~585,000, over
`jit_above_cost`) was compiled in the server process and in each of two workers (~0.95
s of optimisation and emission each, 2 cores) and its wide rows merged back through
the workers' queues (Gather Merge); the client reads one row at a time slower than one
server process sends them, so the workers only spent processor time: executor time
5.55 s parallel with JIT against 2.73 s serial without. The whole CSV export at a
million, alternated pairs on 2 cores whose times moved ±15 % from run to run: the
settings given through `PGOPTIONS`, 6 pairs, median 12.6 → 10.1 s; this code against
the code before, 8 pairs, 11.1 → 10.5 s. A stream's plain scan (the chain's walk)
costs under the JIT threshold and is planned the same either way.
"""
_STREAM_PLAN_UNDONE: Final = tuple(
    f"{setting.split(' = ')[0]} TO DEFAULT" for setting in _STREAM_PLAN
)


class PgConnection:
    """A psycopg connection with the few `sqlite3.Connection` methods the store uses.

    Autocommit: a read is its own statement, as on SQLite; writes and snapshots open
    explicit transactions (`write()`, `snapshot()`).
    """

    dialect: Final = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any], url: str) -> None:
        self._raw = raw
        self.url = url
        """Where it is connected (may hold a password: show `display(url)`)."""
        self.on_reconnect: Callable[[float], None] | None = None
        """Told how many seconds a reconnection took (the app says so)."""
        self._open = False  # inside a transaction of ours: its statements cannot be re-run
        # What a write has not sent yet: its begin, and deferred writes (`defer`). They
        # travel with the write's next statement.
        self._begin: tuple[str, ...] = ()
        self._later: list[tuple[str, Params]] = []
        self._streaming = False  # psycopg holds the connection while a stream is read

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The psycopg connection (for the few PostgreSQL-only statements).

        Inside `write()`, what waits to be sent (the begin, deferred writes) is sent
        first, so a statement run on it directly is part of the transaction.
        """
        if self._streaming:
            raise RuntimeError("a statement on a connection whose stream is being read")
        if self._begin or self._later:
            self.execute_together(())
        return self._raw

    def execute(self, sql: str, params: Params = ()) -> Any:
        """Run one statement; the cursor iterates and fetches like sqlite3's.

        Typed `Any` as `sqlite3.Cursor`'s rows are: the store reads both the same way.
        In a write, what waits to be sent goes with it (`execute_together`).

        Raises:
            StoreError: The login may not do this (a reviewer reading `plants`, say).
            ConnectionLost: The connection broke inside a transaction, or could not
                be made again.
            DatabaseBusy: A lock was kept from it for over `LOCK_TIMEOUT_MS`.
        """
        return self.execute_together(((sql, params),))[0]

    def execute_together(
        self, statements: Sequence[tuple[str, Params]], sent: list[Any] | None = None
    ) -> list[Any]:
        """Run statements in one round trip (a pipeline); a cursor for each.

        With them go what a write has not sent yet: its begin, and writes whose
        results no one reads (`defer`). On a team database each round trip is a wait
        on the network: a decision made eleven, now four.

        What was sent on its own (reads, or with the start of a transaction) and
        whose connection broke is sent again on a new one: nothing of it happened.
        One exception: a whole write in one message (a claim: begin, statement and
        `commit_with`) may have committed before the line broke; sent again, it is a
        second claim, and the first is left to its lease (the item waits out at most
        `Store.lease`; nothing is recorded twice: a decision is never sent this way).
        Inside a transaction the step is lost with it (`ConnectionLost`), and its
        caller decides. `sent`: a list each statement's cursor is added to as it goes,
        so that a caller can see which ran when a later one failed.

        Raises:
            StoreError: The login may not do this (a reviewer reading `plants`, say).
            ConnectionLost: The connection broke inside a transaction, or could not
                be made again.
            DatabaseBusy: A lock was kept from it for over `LOCK_TIMEOUT_MS`.
        """
        import psycopg

        if self._streaming:  # psycopg would wait for the stream to end: forever
            raise RuntimeError("a statement on a connection whose stream is being read")
        begin = self._begin
        front = [*((statement, ()) for statement in begin), *self._later]
        if not front and not statements:
            return []  # an empty pipeline would still wait for the server's answer
        self._begin, self._later = (), []
        try:
            return self._run(front, statements, begins=bool(begin), sent=sent)
        except psycopg.errors.InsufficientPrivilege as error:
            raise refused(error) from None
        except psycopg.OperationalError as error:
            if not self._raw.broken and not self._raw.closed:
                raise
            lost = self._lost(error)
            if self._open:
                raise lost from None
        if sent is not None:
            sent.clear()
        return self._run(front, statements, begins=bool(begin), sent=sent)

    def defer(self, sql: str, params: Params = ()) -> None:
        """In a write: a statement whose result no one reads, sent with the next one.

        Its error, if any (a rule of the schema), is raised by that next statement, or
        by the commit, and rolls the whole write back as it would have.
        """
        assert self._open or self._begin, "defer is for a statement inside write()"
        self._later.append((sql, params))

    def _run(
        self,
        front: Sequence[tuple[str, Params]],
        statements: Sequence[tuple[str, Params]],
        *,
        begins: bool,
        sent: list[Any] | None = None,
    ) -> list[Any]:
        """Send `front` and `statements`: in a pipeline unless it is one statement alone.

        Either way one round trip; a statement alone needs no pipeline around it. In a
        pipeline each statement runs on its own (no `;`-separated lists there), each
        with a fresh snapshot: a read after the lock sees the writer before it.
        """
        raw = self._raw
        cursors = [] if sent is None else sent
        try:
            with self._busy():
                if not front and len(statements) == 1:
                    cursors.append(send(raw, *statements[0]))
                    return cursors
                with raw.pipeline():
                    for statement in front:
                        send(raw, *statement)
                    for statement in statements:
                        cursors.append(send(raw, *statement))
                    return cursors
        finally:
            if begins:
                # Begun on the server, even when a statement failed; unless the
                # connection broke first, and then nothing of it happened.
                self._open = not (raw.broken or raw.closed)

    @contextmanager
    def scan(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """A cursor over a long result held on the server, statements allowed between rows.

        For a pass that runs none, `stream`. `execute`'s cursor brings the whole result
        over before the first row; this one is named (server-side), brought over
        `SCAN_ROWS` rows a round trip however it is read (`store.pg_rows.Scan`), and
        lives in a transaction (its own if need be).

        Raises:
            StoreError: The login may not read this.
        """
        import psycopg

        if not self.in_transaction:
            with self.snapshot(), self.scan(sql, params) as cursor:
                yield cursor
            return
        cursor = self.raw.cursor(name=f"signoff_scan_{next(_SCANS)}")
        try:
            try:
                cursor.execute(translate(sql), params or None)
            except psycopg.errors.InsufficientPrivilege as error:
                raise refused(error) from None
            yield Scan(cursor)
        finally:
            if not self._raw.broken and not self._raw.closed:
                cursor.close()

    @contextmanager
    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Streamed]:
        """A long result the server sends while it is read (`store.pg_rows.streamed`).

        A statement meanwhile raises (psycopg would wait for the stream: forever).
        Planned as `_STREAM_PLAN` says (`SET LOCAL`, put back for the next statement;
        in a transaction of its own if need be).

        Raises:
            StoreError: The login may not read this.
        """
        if not self.in_transaction:  # nothing to put back: the snapshot ends with it
            with self.snapshot(), self._stream(sql, params, put_back=False) as rows:
                yield rows
            return
        with self._stream(sql, params, put_back=True) as rows:
            yield rows

    @contextmanager
    def _stream(self, sql: str, params: Sequence[Any], *, put_back: bool) -> Iterator[Streamed]:
        import psycopg
        from psycopg.pq import TransactionStatus

        self._later.extend((setting, ()) for setting in _STREAM_PLAN)
        cursor = self.raw.cursor()  # sends it
        self._streaming = True
        try:
            with streamed(cursor, sql, params) as rows:
                yield rows
        except psycopg.errors.InsufficientPrivilege as error:
            raise refused(error) from None
        finally:
            self._streaming = False
            cursor.close()
            if put_back and self._raw.info.transaction_status == TransactionStatus.INTRANS:
                self._later.extend((setting, ()) for setting in _STREAM_PLAN_UNDONE)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each row (psycopg pipelines them).

        What a write has not sent yet (its begin, deferred writes) is sent first, so
        statements run in the order they were given.
        """
        import psycopg

        batch = list(rows)
        if batch:
            self.execute_together(())
            try:
                with self.raw.cursor() as cursor:
                    for statement, params in _many_rows(sql, batch):
                        cursor.executemany(statement, params)
            except psycopg.OperationalError as error:
                if not self._raw.broken and not self._raw.closed:
                    raise
                raise self._lost(error) from None

    def _lost(self, cause: BaseException) -> ConnectionLost:
        """Replace a broken connection (tries for `RECONNECT_S`).

        Returns the error to raise when the interrupted step cannot simply run again.

        Raises:
            ConnectionLost: No new connection within `RECONNECT_S`.
        """
        import time

        started = time.monotonic()
        while True:
            try:
                self._raw = raw_connection(self.url)
                break
            except StoreError as error:
                if time.monotonic() - started >= RECONNECT_S:
                    raise ConnectionLost(
                        f"lost the team database and could not reconnect ({error}); "
                        "nothing more was recorded"
                    ) from None
                time.sleep(0.5)
        if self.on_reconnect is not None:
            self.on_reconnect(time.monotonic() - started)
        return ConnectionLost(
            f"the connection to the team database broke ({first_line(cause)}); "
            "reconnected — the interrupted step did not finish, try it again"
        )

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection (never, on a broken one)."""
        from psycopg.pq import TransactionStatus

        if self._begin:  # begun: sent with its first statement
            return True
        return self._raw.info.transaction_status in (
            TransactionStatus.INTRANS,
            TransactionStatus.INERROR,
            TransactionStatus.ACTIVE,
        )

    def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        self._begin, self._later = (), []
        self._raw.rollback()

    def close(self) -> None:
        """Close the connection."""
        self._raw.close()

    def cancel(self) -> None:
        """Stop the statement running on this connection (safe from any thread).

        Not through `raw`: that sends what waits to be sent, and refuses while a stream
        is read, which is when a reader is interrupted.
        """
        self._raw.cancel_safe()

    @contextmanager
    def write(
        self, *, durable: bool = True, locked: bool = True, wait_ms: int = LOCK_TIMEOUT_MS
    ) -> Iterator[PgConnection]:
        """A write transaction holding the store's write lock; notifies listeners on commit.

        `durable=False` commits without waiting for the WAL flush (claims, imports), as
        `synchronous=NORMAL` does on SQLite; ledger events always wait. `locked=False`
        is for the one-statement claim: row locks keep claims apart (`FOR UPDATE SKIP
        LOCKED`), and a reviewer need not wait for another's decision to take one.
        `wait_ms`: how long a lock may be waited for (at least 1: PostgreSQL reads 0 as
        for ever).

        Raises:
            DatabaseBusy: Another writer kept a lock for over `wait_ms`.
        """
        import psycopg

        self._wait_ms = max(1, wait_ms)
        # No round trip of its own: the begin, its settings and the lock travel with the
        # first statement (`execute`), and the notice with the commit. On a team
        # database each trip is a network wait, and eight reviewers wait on one lock.
        self._begin = _begin(durable=durable, locked=locked, wait_ms=self._wait_ms)
        try:
            yield self
            if self._committed or (self._begin and not self._later):  # nothing to commit
                return
            self.execute_together(_COMMIT)
        except psycopg.errors.RaiseException as error:
            # A rule of the schema said no (append-only, the chain): the user's line.
            self._roll_back(self._raw)
            raise StoreError(first_line(error)) from None
        except psycopg.OperationalError as error:
            if self._raw.broken or self._raw.closed:  # the server went away mid-transaction
                raise self._lost(error) from None
            self._roll_back(self._raw)
            raise
        except BaseException:
            # After a reconnection the new connection has no transaction: nothing to do.
            self._roll_back(self._raw)
            raise
        finally:
            self._begin, self._later, self._open = (), [], False
            self._wait_ms, self._committed = LOCK_TIMEOUT_MS, False

    _wait_ms = LOCK_TIMEOUT_MS
    _committed = False

    def commit_with(self, *reads: tuple[str, Params]) -> list[Any]:
        """In a write: commit it now, `reads` sent just before the commit in its round trip.

        A cursor for each read. For a write whose caller reads at once what it has
        written (a claim, and the item it opens): the reads ride with the commit, not
        in a round trip of their own. Nothing else may be sent in the write after it.
        """
        assert self._open or self._begin, "commit_with is for the end of a write()"
        cursors = self.execute_together((*reads, *_COMMIT))
        self._committed = True
        return cursors[: len(reads)]

    def commit_then(self, after: Sequence[tuple[str, Params]]) -> list[Any] | None:
        """In a write: commit it, then `after` (a write of its own), in one round trip.

        For a write that follows another at once (a reviewer's next claim after a
        decision): one wait on the network instead of two. `after` is sent as a whole
        transaction (its begin, as a claim's `write(durable=False, locked=False)` has
        it, to its commit) after this write's commit, nothing between them: should
        this write fail, PostgreSQL skips `after` too, and the error is raised as from
        the commit. Should `after` fail once this write has committed, `after` is
        rolled back and None returned: this write stands, and its caller does the
        step on its own. Else a cursor for each of `after`'s statements.
        """
        import psycopg

        assert self._open or self._begin, "commit_then is for the end of a write()"
        begin = [(sql, ()) for sql in _begin(durable=False, locked=False, wait_ms=LOCK_TIMEOUT_MS)]
        sent: list[Any] = []
        try:
            self.execute_together([*_COMMIT, *begin, *after, *_COMMIT], sent)
        except (psycopg.Error, StoreError):
            commit = sent[len(_COMMIT) - 1] if len(sent) >= len(_COMMIT) else None
            if commit is None or commit.statusmessage != "COMMIT":
                raise  # this write did not commit: as any failed commit
            self._committed = True
            self._roll_back(self._raw)  # `after` stopped half way (or its line broke)
            return None
        self._committed = True
        start = len(_COMMIT) + len(begin)
        return sent[start : start + len(after)]

    @contextmanager
    def _busy(self) -> Iterator[None]:
        """A lock wait that timed out: rolled back, and said as `DatabaseBusy`."""
        import psycopg

        try:
            yield
        except psycopg.errors.LockNotAvailable:
            self._roll_back(self._raw)
            raise DatabaseBusy(busy_message("another writer", self._wait_ms)) from None

    def _roll_back(self, raw: psycopg.Connection[Any]) -> None:
        from psycopg.pq import TransactionStatus

        if raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            raw.execute("ROLLBACK")

    def lock_free(self) -> bool:
        """Whether a write could start now (never waits).

        Takes and gives back the lock in one statement: the app asks before a release
        or a skip (a decision does not ask: `StoreBase.at_once`), and a second statement
        was a second wait on the network (`CASE` evaluates the unlock only when the lock
        was taken).
        """
        if self.in_transaction:
            return True
        row = self.execute(
            "SELECT CASE WHEN pg_try_advisory_lock(?) THEN pg_advisory_unlock(?) ELSE false END",
            (WRITE_LOCK, WRITE_LOCK),
        ).fetchone()
        return bool(row and row[0])

    @contextmanager
    def snapshot(self) -> Iterator[PgConnection]:
        """One consistent read of the whole database (an export and its manifest)."""
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._open = True
        try:
            yield self
        finally:
            self._open = False
            if self.in_transaction:
                self.raw.execute("COMMIT")

    def pid(self) -> int:
        """The server process of this connection (its own notices are not news)."""
        return int(self._raw.info.backend_pid)

    @property
    def numbers_as_text_exact(self) -> bool:
        """Whether a number read as text is what Python's `str` makes of the value read.

        An integer's text always is; a double's is from PostgreSQL 12 on, where the
        server writes the shortest decimal that reads back exactly, or, with
        `extra_float_digits` ≤ 0, a rounded one that Python writes back the same
        (`store.csv_cells.float_cells`; checked over 2.2 million doubles at every
        setting from -15 to 3). Older servers wrote 17 digits at a driver's
        `extra_float_digits = 3`. Known from the connection's start: no round trip.
        """
        return int(self._raw.info.server_version) >= 120000


def raw_connection(url: str) -> psycopg.Connection[Any]:
    """A bare autocommit connection to `url` (readers, listeners; no schema check).

    Raises:
        StoreError: The server cannot be reached or refused the login (one line).
    """
    import psycopg

    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        raise StoreError(f"{display(url)}: cannot connect ({first_line(error)})") from None
    numbers_as_python(raw)
    return raw
