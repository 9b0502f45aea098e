"""Opening the database: pragmas, migrations, and the write-transaction helper."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from store import filesystems, pg, pg_open
from store.clock import Clock, utc_now
from store.errors import DatabaseBusy, SchemaError, StoreError, busy_message
from store.oversight import OversightPolicy
from store.policy import JustificationPolicy
from store.search import BULK_INDEX_ROWS, index_new, unindexed

if TYPE_CHECKING:
    from types import ModuleType
    from typing import TypeAlias

    from sqlite_utils import Database

    Connection: TypeAlias = sqlite3.Connection | pg.PgConnection

BULK_CHECKPOINT_PAGES = 16_384
"""WAL pages (64 MB) between checkpoints while a store writes in bulk (`StoreBase.bulk`)."""

MIGRATIONS: tuple[str, ...] = (
    "m001_initial",
    "m002_item_counts",
    "m003_open_items_index",
    "m004_outbox_and_cursors",
    "m005_oversight",
    "m006_fast_constraints",
    "m007_pull_failures",
    "m008_escalation_claims",
    "m009_assignments",
    "m010_auditor_views",
    "m011_register",
    "m012_archive",
    "m013_token_logprobs",
    "m014_practice",
    "m015_search_index",
    "m016_ledger_action_index",
    "m017_ledger_counts",
    "m018_search_index_merges",
    "m019_ledger_models",
    "m020_search_index_without_positions",
    "m021_search_index_without_sizes",
    "m022_no_open_items_index",
    "m023_stats_kept",
)
"""Every migration this version knows, in order (a test checks it matches
`store.migrations.NAMES`). Kept here so that opening an up-to-date database does not
import sqlite-utils at all: that import alone cost ~80 ms of every start."""

BUSY_TIMEOUT_MS = 5000
"""How long a writer waits for another process's write lock before giving up."""
BUSY_POLL_S = 0.001
"""How often a waiting writer tries for the lock again (see `_begin_immediate`)."""

DEFAULT_LEASE = dt.timedelta(minutes=10)


class StoreBase:
    """The connection and settings shared by the queue and ledger operations.

    One connection per store, used from one thread: sqlite3 connections must not be
    shared across threads, so the UI runs store calls in async workers.
    """

    def __init__(
        self,
        target: Path | str,
        *,
        now: Clock = utc_now,
        policy: JustificationPolicy | None = None,
        lease: dt.timedelta = DEFAULT_LEASE,
        oversight: OversightPolicy | None = None,
        upgrading: Callable[[Path], None] | None = None,
    ) -> None:
        """Open `target` (a SQLite file or a PostgreSQL URL), bringing its schema up to date.

        `upgrading` is called, with the file, before an older SQLite database is brought
        up to date: once per new version, and a large queue's may take a while (m020
        rebuilds the search index: 8.7-8.8 s at a million items).
        """
        self.url: str | None = str(target) if pg.is_url(target) else None
        """The PostgreSQL URL in team mode (may hold a password; see `where`), else None."""
        self.path = Path() if self.url else Path(target)
        """The SQLite database file (empty in team mode)."""
        self.now = now
        """The injected clock."""
        self.policy = policy or JustificationPolicy()
        """Justification rules applied to every ledger event."""
        self.lease = lease
        """How long a claim lasts without renewal."""
        self.oversight = oversight or OversightPolicy.off()
        """Friction, planting and commit-first rules; off unless given."""
        self._listener: pg_open.Listener | None = None
        self._untimed_after: dt.datetime | None = None  # see IngestMixin._dated
        if self.url is not None:
            self.conn: Connection = pg_open.connect(self.url)
            return
        conn = _connect(self.path)
        try:
            _migrate(conn, self.path, upgrading)
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    @property
    def team(self) -> bool:
        """Whether this store is a shared PostgreSQL database (team mode)."""
        return self.url is not None

    use_cards: dict[str, str] = {}  # noqa: RUF012 - replaced whole, never mutated
    """Source → the hash of its AI use card in force (`store.cards`), set from the config;
    stamped into every decision on that source's items."""

    leads: frozenset[str] = frozenset()
    """Who resolves escalations on a SQLite queue (the config's `leads`); in team mode
    the database says (members of `signoff_lead`)."""

    def is_lead(self, reviewer: str) -> bool:
        """Whether `reviewer` may resolve escalations.

        On a team database (`signoff team init` ran) only a lead's own login may; on a
        SQLite file, or a PostgreSQL database without the team's roles, names are not
        authenticated and the config's `leads` decide.
        """
        if self.url is None:
            return reviewer in self.leads
        login, lead, team = self.conn.execute(
            "SELECT session_user, signoff_sees_all(), "
            "EXISTS (SELECT 1 FROM signoff_meta WHERE key = 'team')"
        ).fetchone()
        return bool(login == reviewer and lead) if team else reviewer in self.leads

    def team_connection(self) -> pg.PgConnection:
        """The PostgreSQL connection, for team set-up and migration.

        Raises:
            StoreError: This store is a SQLite file.
        """
        if not isinstance(self.conn, pg.PgConnection):
            raise StoreError(f"{self.path} is a SQLite file, not a team database")
        return self.conn

    def identity(self) -> str | None:
        """The authenticated database login in team mode (`session_user`), else None.

        In team mode that login is the reviewer: the database refuses events, claims and
        judgements recorded under any other name (`store.pg_team`).
        """
        if self.url is None:
            return None
        row = self.conn.execute("SELECT session_user").fetchone()
        return str(row[0])

    @property
    def where(self) -> str:
        """The database, as shown to people: the file, or the URL without a password."""
        return pg.display(self.url) if self.url else str(self.path)

    @property
    def db(self) -> Database:
        """The connection as a sqlite-utils `Database` (imported on first use; SQLite only)."""
        assert isinstance(self.conn, sqlite3.Connection)
        return sqlite_utils_database()(self.conn, execute_plugins=False)

    def close(self) -> None:
        """Close the connection (committed work is already durable)."""
        if self._listener is not None:
            self._listener.close()
        self.conn.close()

    def defer_checkpoints(self) -> None:
        """Keep this connection's commits from copying the WAL back (a 10-20 ms stall).

        SQLite's auto-checkpoint runs inside whichever commit crosses 1,000 WAL pages;
        in the app that is a keypress. The caller runs `checkpoint_wal` off the UI
        thread instead (the app does every few seconds).
        """
        if isinstance(self.conn, sqlite3.Connection):
            self.conn.execute("PRAGMA wal_autocheckpoint = 0")

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Many writes in a row (an import, a planting run): the WAL copied back less often.

        SQLite copies the WAL into the database inside whichever commit crosses
        `wal_autocheckpoint` pages (1,000: 4 MB). A bulk writer dirties pages all over
        the indexes, and most of them again before the next copy; copying every 64 MB
        writes each such page once instead of 16 times (planting 52k catch trials at a
        million items: 26.4 → 20.3 s). Afterwards the log is copied back and cut to
        nothing if no reader holds it (never waited for). No-op on PostgreSQL and when
        already in bulk mode; the app, which checkpoints off its UI thread
        (`defer_checkpoints`), keeps doing so.

        Meanwhile new items are indexed for search thousands at a time (`_index_when_due`),
        the rest when the block ends without an error. After an error, the next write
        that indexes takes them; until then a search scans them.
        """
        conn = self.conn
        if not isinstance(conn, sqlite3.Connection) or self._in_bulk:
            yield
            return
        before = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        if before:
            conn.execute(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES}")
        self._in_bulk = True
        try:
            yield
            self._index_when_due(ending=True)
        finally:
            self._in_bulk = False
            if before:
                conn.execute(f"PRAGMA wal_autocheckpoint = {before}")
                conn.execute("PRAGMA busy_timeout = 0")
                try:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                except sqlite3.OperationalError:
                    pass  # a reader holds the log: the next checkpoint copies it
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    _in_bulk = False

    def _index_when_due(self, *, ending: bool = False) -> None:
        """Index new items for search, in a write of their own, once enough of them wait.

        Enough: `BULK_INDEX_ROWS`, or any when the bulk block is `ending`. A bulk writer's
        transactions leave their items to this; any other write indexes its own.
        """
        if unindexed(self.conn) >= (1 if ending else BULK_INDEX_ROWS):
            with self._immediate(durable=False) as conn:
                index_new(conn)

    @property
    def wal_file(self) -> Path | None:
        """The SQLite file whose log `checkpoint_wal` copies back (None in team mode)."""
        return None if self.url else self.path

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _immediate(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction that takes the write lock up front.

        `BEGIN IMMEDIATE` means two processes can never both read "item 7 is free"
        and then both take it: the second waits (busy timeout) until the first commits.

        `durable=False` commits without an fsync (`synchronous=NORMAL` in WAL mode): safe
        against a crash of the process, not against power loss. Leases and imports use
        it — a lost claim only returns its item to the queue, a lost batch is imported
        again — so claiming is not slowed by a disk flush; ledger events never do.

        On PostgreSQL the same: one writer at a time (`store.pg.PgConnection.write`).
        """
        if not isinstance(self.conn, sqlite3.Connection):
            wait = 0 if self._at_once else pg.LOCK_TIMEOUT_MS
            with self.conn.write(durable=durable, wait_ms=wait) as conn:
                yield conn
            return
        if not durable:
            self.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            self._begin_immediate()
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        finally:
            if not durable:
                self.conn.execute("PRAGMA synchronous = FULL")

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the database.

        SQLite's `PRAGMA data_version`: a cheap way for a view to notice another
        reviewer's decision or a lead's import (this connection's own commits do not
        change it). On PostgreSQL: the notices (LISTEN/NOTIFY) of other connections'
        commits, on a listening connection opened on first use.
        """
        if self.url is not None:
            if self._listener is None:
                assert isinstance(self.conn, pg.PgConnection)
                self._listener = pg_open.Listener(self.url, self.conn.pid())
            return self._listener.changes()
        assert isinstance(self.conn, sqlite3.Connection)
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def write_lock_free(self, *, claim: bool = False) -> bool:
        """Whether a write could start now (takes and gives back the lock; never waits).

        For a caller that would rather show "waiting" and try again than block (a
        single write can instead be made `at_once`, with no question first). With
        `claim`, for `claim_next`: on PostgreSQL it takes no write lock (row locks keep
        claims apart), so there is nothing to wait for and no round trip is spent
        asking; only ending a lapsed lease takes the lock, for an instant.
        """
        conn = self.conn
        if not isinstance(conn, sqlite3.Connection):
            return claim or conn.lock_free()
        if conn.in_transaction:
            return True
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextmanager
    def at_once(self) -> Iterator[None]:
        """Writes in this block do not wait for another writer: `DatabaseBusy` at once.

        For the app, which would rather show "waiting…" and try its write again than
        freeze the screen while a lead's import holds the lock. Asking first
        (`write_lock_free`) costs a round trip on a team database; this costs none
        when the lock is free, and nothing is changed when it is not.
        """
        self._at_once = True
        try:
            yield
        finally:
            self._at_once = False

    _at_once = False

    def _begin_immediate(self) -> None:
        """`BEGIN IMMEDIATE`, waiting for the write lock in 1 ms polls, not SQLite's backoff.

        SQLite's own busy handler sleeps up to 100 ms between tries, so a bulk writer
        that commits and begins again at once (an import, planting) won the lock nearly
        every time and a reviewer's decision failed with "database is locked" after 5 s.
        Polling every millisecond catches the gap between two of its transactions.
        """
        conn = self.conn
        assert isinstance(conn, sqlite3.Connection)
        # Without SQLite's handler for this one statement; reads keep the busy timeout.
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            wait_ms = 0 if self._at_once else BUSY_TIMEOUT_MS
            deadline = time.monotonic() + wait_ms / 1000
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if not _is_busy(error):
                        raise
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(busy_message("another process", wait_ms))
                time.sleep(BUSY_POLL_S)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


def checkpoint_wal(path: Path) -> tuple[int, int, int]:
    """Copy committed WAL pages into the database from a connection of its own.

    PASSIVE: never waits for readers or blocks writers; what it cannot copy now it copies
    next time. Safe to call from a worker thread while another connection writes.
    Returns SQLite's (busy, frames in the log, frames copied).
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)
    finally:
        conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    # No folder is created here: a mistyped path must not become a new, empty queue
    # that looks like lost data. The caller creates the default location.
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a database file")
    if not path.parent.is_dir():
        raise StoreError(f"{path}: the folder {path.parent} does not exist")
    kind = filesystems.filesystem_type(path.parent)
    if kind in filesystems.NETWORK_FILESYSTEMS:
        raise StoreError(
            f"{path} is on a network file system ({kind}): SQLite's write-ahead log does "
            "not work there and can lose or corrupt decisions; keep the file on a local "
            "disk (a team shares one PostgreSQL database instead)"
        )
    try:
        # isolation_level=None: no implicit BEGINs; every transaction here is explicit.
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot open ({error})") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise SchemaError(f"{path}: could not switch the database to WAL mode (got {mode})")
        # FULL: a decision reported as recorded survives power loss, not only a crash.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.OperationalError as error:
        conn.close()
        raise StoreError(f"{path}: cannot open ({error})") from None
    except sqlite3.DatabaseError as error:
        conn.close()
        raise SchemaError(f"{path} is not a signoff database ({error})") from None
    return conn


def _applied(conn: sqlite3.Connection) -> list[str]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not exists:
        return []
    rows = conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = 'signoff' ORDER BY rowid"
    )
    return [row[0] for row in rows]


def _migrate(
    conn: sqlite3.Connection, path: Path, upgrading: Callable[[Path], None] | None
) -> None:
    try:
        applied = _applied(conn)
    except sqlite3.DatabaseError as error:
        raise SchemaError(f"{path} is not a signoff database ({error})") from None
    newer = [name for name in applied if name not in MIGRATIONS]
    if newer:
        raise SchemaError(
            f"{path} was made by a newer signoff (schema {newer[-1]}); upgrade signoff to open it"
        )
    if len(applied) == len(MIGRATIONS):
        return
    if not applied and _has_foreign_tables(conn):
        raise SchemaError(f"{path} holds other tables; signoff will not write into it")
    if applied and upgrading is not None:
        upgrading(path)
    database = sqlite_utils_database()
    from store.migrations import migrations

    # One IMMEDIATE transaction around all pending migrations, so two processes
    # opening a new file at once cannot both create the tables.
    conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(database(conn, execute_plugins=False))
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def sqlite_utils_database() -> type[Database]:
    """sqlite-utils' `Database`, imported without pandas and numpy the first time.

    `sqlite_utils.db` imports both (`importlib.import_module`), when installed, only to
    map their types for inserts signoff never makes. statsmodels (the agreement figures)
    installs them, and their import was ~0.2 s of every new or upgraded database: each
    `signoff import` into a new file, each first start. Refused to this thread only, for
    this one import: another thread importing either meanwhile gets it, and both load
    later when agreement needs them.
    """
    import sys

    if "sqlite_utils" not in sys.modules:
        import importlib
        import threading

        real, here = importlib.import_module, threading.get_ident()

        def refusing(name: str, package: str | None = None) -> ModuleType:
            if name in ("pandas", "numpy") and threading.get_ident() == here:
                raise ImportError(f"{name}: not for sqlite-utils in signoff")
            return real(name, package)

        importlib.import_module = refusing
        try:
            import sqlite_utils.db  # noqa: F401
        finally:
            importlib.import_module = real
    from sqlite_utils import Database

    return Database


def _has_foreign_tables(conn: sqlite3.Connection) -> bool:
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return any(not name.startswith(("sqlite_", "_sqlite_")) for (name,) in names)
