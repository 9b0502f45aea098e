"""Ordered schema migrations. Never edit one that has shipped: add `m00N_…` instead.

Each runs in a transaction with its record in `_sqlite_migrations` (sqlite-utils
`Migrations`), so a crash mid-migration leaves the previous schema intact.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from store import migration_sql as scripts
from store import search
from store.db import sqlite_utils_database

if TYPE_CHECKING:
    from sqlite_utils import Database

sqlite_utils_database()  # first: sqlite-utils without pandas and numpy (see there)
from sqlite_utils.migrations import Migrations  # noqa: E402

migrations = Migrations("signoff")
"""The ordered set; `migrations.apply(db)` brings any signoff database up to date."""

NAMES: list[str] = []
"""Names of every migration this version knows, in order."""


def _migration(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    NAMES.append(fn.__name__)
    return migrations()(fn)


def _script(db: Database, sql: str) -> None:
    """Run a multi-statement script inside the caller's transaction.

    `executescript` would COMMIT first (the sqlite3 module does so), splitting the
    migrations' one transaction; statements are run one by one instead (trigger bodies
    stay whole: `sqlite3.complete_statement` knows BEGIN … END).
    """
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                db.conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL at the end of a migration: {buffer[:80]!r}")


@_migration
def m001_initial(db: Database) -> None:
    """Items (the queue), claims (leases) and the append-only, hash-chained ledger."""
    _script(db, scripts.M001)


@_migration
def m002_item_counts(db: Database) -> None:
    """Per-source, per-state counts kept by triggers, so status never scans the queue."""
    _script(db, scripts.M002)


@_migration
def m003_open_items_index(db: Database) -> None:
    """Index the open queue (pending + claimed) in review order, for keyset paging."""
    db.execute(
        "CREATE INDEX items_open ON items (stakes_rank, created_at, id) "
        "WHERE state IN ('pending', 'claimed')"
    )


@_migration
def m004_outbox_and_cursors(db: Database) -> None:
    """Deliveries of final decisions back to their source, and pull cursors."""
    _script(db, scripts.M004)


@_migration
def m005_oversight(db: Database) -> None:
    """Catch trials (plants), commit-first judgements, second reviews, event oversight."""
    _script(db, scripts.M005)


@_migration
def m006_fast_constraints(db: Database) -> None:
    """Constraints that cost no more than they must on every row written.

    A constant `IN (…)` list in a CHECK or a partial index's WHERE makes SQLite build an
    ephemeral table each time a statement runs: ~14 µs per row under `executemany`,
    more than the insert itself. Equivalent `=`/`OR` chains cost nothing. The table
    CHECKs are rewritten in place by SQLite's documented `writable_schema` procedure
    (the new text accepts exactly the rows the old one did); the open-queue index is
    rebuilt. The per-row count trigger on INSERT (~17 µs a row) gives way to per-batch
    counting in the store, and the (source, state) index that nothing reads any more
    (counts come from `item_counts`) is dropped.
    """
    conn = db.conn
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        for table in ("items", "claims", "ledger"):
            (sql,) = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            conn.execute(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                (or_chains(sql), table),
            )
        conn.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")
    _script(db, scripts.M006)


@_migration
def m007_pull_failures(db: Database) -> None:
    """Records a pull could not turn into drafts, per provider, until one succeeds."""
    _script(db, scripts.M007)


@_migration
def m008_escalation_claims(db: Database) -> None:
    """A lead's claim on an escalated item names the escalation it resolves."""
    db.execute("ALTER TABLE claims ADD COLUMN resolves INTEGER REFERENCES ledger(seq)")


@_migration
def m009_assignments(db: Database) -> None:
    """Items a lead assigned to a reviewer, served to them first (and to no one else)."""
    _script(db, scripts.M009)


@_migration
def m010_auditor_views(db: Database) -> None:
    """Views for auditors who open the file in Datasette or sqlite-utils (README)."""
    _script(db, scripts.M010)


@_migration
def m011_register(db: Database) -> None:
    """The incident and complaint register (append-only, chained) and its auditor view."""
    _script(db, scripts.M011)


@_migration
def m012_archive(db: Database) -> None:
    """Archiving: old events move to a file; their hashes stay so the chain still links."""
    _script(db, scripts.M012)


@_migration
def m013_token_logprobs(db: Database) -> None:
    """Per-token log-probabilities kept with a draft (`providers.tokens`), or NULL."""
    db.execute(
        "ALTER TABLE items ADD COLUMN token_logprobs TEXT "
        "CHECK (token_logprobs IS NULL OR json_valid(token_logprobs))"
    )


@_migration
def m014_practice(db: Database) -> None:
    """AI-off practice answers (`store.practice`): private to each reviewer, append-only."""
    _script(db, scripts.M014)


@_migration
def m015_search_index(db: Database) -> None:
    """A trigram full-text index over items' id, title and draft (`store.search`)."""
    _script(db, search.FIRST_SCHEMA)


@_migration
def m016_ledger_action_index(db: Database) -> None:
    """Events per action (`signoff status`) from an index: 260 → 31 ms at a million."""
    db.execute("CREATE INDEX ledger_action ON ledger (action)")


@_migration
def m017_ledger_counts(db: Database) -> None:
    """Events per action, kept by the ledger's inserts and archive deletes.

    As `item_counts` keeps items: `status` read a million index entries (75-80 ms).
    """
    _script(db, scripts.M017)


@_migration
def m018_search_index_merges(db: Database) -> None:
    """The search index merges its segments 16 at a time, not 4 (`store.search.MERGE`)."""
    db.execute(search.MERGE_SQL)


@_migration
def m019_ledger_models(db: Database) -> None:
    """Each event's model, kept beside the ledger (`store.stats` reads it, not `items`).

    The statistics group every event by its item's model: joined to `items` for that
    one column, a pass at a million events read the items table too (~0.8-1.5 s of a
    ~6 s pass; the ledger alone is ~2 s); this narrow table, read in the ledger's order,
    is ~20 MB there. It holds what the join gave, the item's model (an item retracted
    and imported again may change it), kept by triggers as `ledger_counts` is.
    """
    _script(db, scripts.M019)


@_migration
def m020_search_index_without_positions(db: Database) -> None:
    """The search index again, without trigram positions (`store.search.SCHEMA`).

    Rebuilt from the items in this transaction, once: 8.7-8.8 s at a million items.
    """
    _script(db, search.SCHEMA_WITHOUT_POSITIONS)


@_migration
def m021_search_index_without_sizes(db: Database) -> None:
    """The search index again, without sizes and with its own watermark (`store.search.SCHEMA`).

    Rebuilt from the items in this transaction, once.
    """
    _script(db, search.SCHEMA)


@_migration
def m022_no_open_items_index(db: Database) -> None:
    """No index of the open items in review order (an import kept three orders of every item).

    The queue's pages read pending and claimed items apart, from `items_next` (`store.views`).
    """
    db.execute("DROP INDEX items_open")


@_migration
def m023_stats_kept(db: Database) -> None:
    """The statistics' counts kept from one pass for the next (`store.stats_kept`).

    Emptied when an event's model changes (`ledger_models`, kept by m019's triggers).
    """
    _script(db, scripts.M023)


_IN_LIST = re.compile(r"(\w+) (NOT )?IN \(((?:'[a-z-]+'(?:, )?)+)\)")


def or_chains(sql: str) -> str:
    """`x IN ('a', 'b')` → `(x = 'a' OR x = 'b')`; `x NOT IN (…)` → `NOT (…)`."""

    def chain(match: re.Match[str]) -> str:
        column, negated, values = match.groups()
        ored = " OR ".join(f"{column} = {value}" for value in values.split(", "))
        return f"{'NOT ' if negated else ''}({ored})"

    return _IN_LIST.sub(chain, sql)
