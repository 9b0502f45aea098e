"""Moving a SQLite queue into a team's PostgreSQL database, ledger and all.

One transaction on the PostgreSQL side: every table of the SQLite file is copied in
dependency order, the ledger in chain order (its head set once, `_copy_ledger`), and the
copied chain is verified from its first event before commit — its head hash must be the
SQLite ledger's. Anything less and nothing is written.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.chain_split import processors
from store.errors import StoreError
from store.pg_schema import TABLES

if TYPE_CHECKING:
    from store import Store
    from store.pg import PgConnection

BATCH = 5000
"""Rows read from SQLite and sent to PostgreSQL at a time (bounded memory)."""

_ORDER = {"ledger": "seq", "register": "seq", "item_counts": "source, state",
          "provider_state": "provider",
          "pull_failures": "provider, external_id", "plants": "item_id",
          "provisionals": "claim_id", "second_reviews": "item_id",
          "archive_cuts": "through_seq", "archived": "seq", "practice": "id"}  # fmt: skip
_IDENTITY = ("items", "claims", "outbox", "practice")


@dataclass(frozen=True, slots=True)
class Copied:
    """What `copy` moved."""

    items: int
    events: int
    head: str
    where: str


def copy(lite: Store, shared: Store) -> Copied:
    """Copy everything in `lite` (SQLite) into `shared` (an empty team database).

    Raises:
        StoreError: `lite` is not SQLite, `shared` is not empty, `lite`'s own chain
            does not verify, or the copy's head differs (nothing is written).
    """
    source = lite.conn
    if not isinstance(source, sqlite3.Connection):
        raise StoreError(f"{lite.where}: migrate copies from a SQLite file")
    target = shared.team_connection()
    cut = source.execute("SELECT max(through_seq) FROM archive_cuts").fetchone()[0]
    if cut is not None:
        raise StoreError(
            f"{lite.where} was archived through event {cut}: migrate copies a whole ledger "
            "(the team database's chain starts at event 1); nothing was copied"
        )
    report = lite.verify_chain(workers=processors())
    if not report.ok:
        raise StoreError(
            f"{lite.where}: its ledger does not verify ({report.problem}); nothing was copied"
        )
    items = int(source.execute("SELECT count(*) FROM items").fetchone()[0])
    with shared._immediate():
        filled = target.execute(
            "SELECT (SELECT count(*) FROM items) + (SELECT position FROM chain_head)"
        ).fetchone()[0]
        if filled:
            raise StoreError(
                f"{shared.where} already holds a queue; migrate into an empty database"
            )
        target.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in TABLES:
            if table == "ledger":
                _copy_ledger(source, target)
            else:
                _copy_table(source, target, table)
        for table in _IDENTITY:
            target.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        copied = shared.verify_chain()
        if shared.register_head() != lite.register_head():
            raise StoreError("the copied register's head differs; nothing was written")
        if not copied.ok or copied.head != report.head:
            raise StoreError(
                f"the copied ledger's head {copied.head[:16]}… is not {report.head[:16]}…; "
                "nothing was written"
            )
    return Copied(items, copied.events, copied.head, shared.where)


def _copy_table(source: sqlite3.Connection, target: PgConnection, table: str) -> None:
    columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
    names = ", ".join(columns)
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    cursor = source.execute(f"SELECT {names} FROM {table} ORDER BY {_ORDER.get(table, 'id')}")
    while batch := cursor.fetchmany(BATCH):
        target.executemany(insert, batch)


def _copy_ledger(source: sqlite3.Connection, target: PgConnection) -> None:
    """The ledger in chain order; linked by one head update, not one per event.

    The link trigger moves the chain head row once per event, and PostgreSQL keeps
    every version of a row updated inside one transaction, each later update walking
    past the earlier ones: 100k events took 135 s to copy, 200k 667 s. The table's
    owner switches the trigger off for this transaction only (rolled back with it on
    any failure), sets the head once, and `copy` verifies every copied link and hash
    from the first event before it commits. A login that does not own the table
    copies through the trigger, slowly.
    """
    try:
        target.execute("SAVEPOINT link_off; ALTER TABLE ledger DISABLE TRIGGER ledger_link")
    except StoreError:  # not the owner: the insufficient privilege, as one line
        target.execute("ROLLBACK TO SAVEPOINT link_off")
        _copy_table(source, target, "ledger")
        return
    _copy_table(source, target, "ledger")
    target.execute(
        "UPDATE chain_head SET (position, hash) = "
        "(SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1) "
        "WHERE id = 1 AND EXISTS (SELECT 1 FROM ledger)"
    )
    target.execute("ALTER TABLE ledger ENABLE TRIGGER ledger_link; RELEASE SAVEPOINT link_off")
