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


class Explaining:
    """A store's connection that explains, with their own values, the statements it runs.

    Stands in for the connection where code only calls `execute`: each statement
    `wanted` picks is explained first (PostgreSQL: `EXPLAIN ANALYZE` as JSON, the plan
    object in `plans`; SQLite: `EXPLAIN QUERY PLAN`, its lines joined by " / "), then run.
    """

    def __init__(self, conn: Any, wanted: Any) -> None:
        from store.dialect import dialect_of

        self.conn = conn
        self.wanted = wanted
        self.dialect = getattr(conn, "dialect", "sqlite")
        self.pg = dialect_of(conn).name == "postgresql"
        self.plans: list[Any] = []

    def execute(self, sql: str, args: Any = ()) -> Any:
        """Explain `sql` if it is wanted, then run it."""
        if self.wanted(sql):
            how = "EXPLAIN (ANALYZE, FORMAT JSON) " if self.pg else "EXPLAIN QUERY PLAN "
            rows = self.conn.execute(how + sql, args).fetchall()
            self.plans.append(rows[0][0] if self.pg else " / ".join(r[3] for r in rows))
        return self.conn.execute(sql, args)


def rows_read(plan: Any, relation: str) -> float:
    """Rows a PostgreSQL plan's scans of `relation` returned, over all their loops."""
    node = plan[0]["Plan"] if isinstance(plan, list) else plan
    own = node["Actual Rows"] * node["Actual Loops"] if node.get("Relation Name") == relation else 0
    return own + sum(rows_read(child, relation) for child in node.get("Plans", []))
