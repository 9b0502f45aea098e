"""What a store test needs to say the same thing on both engines (SQLite, PostgreSQL)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg

from store import Store
from store.pg import PgConnection, translate

REFUSED: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    psycopg.errors.IntegrityError,
    psycopg.errors.RaiseException,
)
"""What a write that breaks a schema rule raises, on either engine."""


def tamper(store: Store, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run `sql` as someone with direct access who first switched the ledger's guard off.

    SQLite: anyone who can write the file drops the trigger. PostgreSQL: the table's
    owner (a superuser here) disables it; a reviewer role could do neither.
    """
    if isinstance(store.conn, PgConnection):
        raw = store.conn.raw
        raw.execute("ALTER TABLE ledger DISABLE TRIGGER ledger_append_only")
        try:
            raw.execute(translate(sql), params)
        finally:
            raw.execute("ALTER TABLE ledger ENABLE TRIGGER ledger_append_only")
        return
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS ledger_no_update")
        conn.execute(sql, params)
    finally:
        conn.close()
