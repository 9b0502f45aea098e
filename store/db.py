"""Opening the database: pragmas, migrations, and the write-transaction helper."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from store.clock import Clock, utc_now
from store.errors import SchemaError
from store.migrations import NAMES, migrations
from store.policy import JustificationPolicy

BUSY_TIMEOUT_MS = 5000
"""How long a writer waits for another process's write lock before giving up."""

DEFAULT_LEASE = dt.timedelta(minutes=10)


class StoreBase:
    """The connection and settings shared by the queue and ledger operations.

    One connection per store, used from one thread: sqlite3 connections must not be
    shared across threads, so the UI runs store calls in async workers.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        now: Clock = utc_now,
        policy: JustificationPolicy | None = None,
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> None:
        self.path = Path(path)
        """The database file."""
        self.now = now
        """The injected clock."""
        self.policy = policy or JustificationPolicy()
        """Justification rules applied to every ledger event."""
        self.lease = lease
        """How long a claim lasts without renewal."""
        self.conn = _connect(self.path)
        self.db = Database(self.conn, execute_plugins=False)
        try:
            _migrate(self.db, self.path)
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        """Close the connection (committed work is already durable)."""
        self.conn.close()

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front.

        `BEGIN IMMEDIATE` means two processes can never both read "item 7 is free"
        and then both take it: the second waits (busy timeout) until the first commits.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit BEGINs; every transaction here is explicit.
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise SchemaError(f"{path}: could not switch the database to WAL mode (got {mode})")
        # FULL: a decision reported as recorded survives power loss, not only a crash.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as error:
        conn.close()
        raise SchemaError(f"{path} is not a signoff database ({error})") from None
    return conn


def _migrate(db: Database, path: Path) -> None:
    try:
        applied = [m.name for m in migrations.applied(db)]
    except sqlite3.DatabaseError as error:
        raise SchemaError(f"{path} is not a signoff database ({error})") from None
    newer = [name for name in applied if name not in NAMES]
    if newer:
        raise SchemaError(
            f"{path} was made by a newer signoff (schema {newer[-1]}); upgrade signoff to open it"
        )
    if len(applied) == len(NAMES):
        return
    if not applied and _has_foreign_tables(db):
        raise SchemaError(f"{path} holds other tables; signoff will not write into it")
    # One IMMEDIATE transaction around all pending migrations, so two processes
    # opening a new file at once cannot both create the tables.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def _has_foreign_tables(db: Database) -> bool:
    return any(not name.startswith(("sqlite_", "_sqlite_")) for name in db.table_names())
