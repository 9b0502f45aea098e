"""Migrations: an old database upgrades without losing anything; foreign files are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

import store.db as store_db
from store import SchemaError, Store
from store.ledger import HASHED_FIELDS
from store.migrations import NAMES, migrations
from store.queue import ITEM_COLUMNS
from tests.conftest import FakeClock, make_draft


def test_a_database_from_the_first_migration_upgrades_intact(
    db_path: Path, tmp_path: Path, clock: FakeClock
) -> None:
    old = Database(sqlite3.connect(db_path, isolation_level=None), execute_plugins=False)
    migrations.apply(old, stop_before=NAMES[1])
    assert [m.name for m in migrations.applied(old)] == NAMES[:1]
    # Rows as the first release wrote them: made by today's code in a scratch file, then
    # copied column by column into the m001 schema (today's code needs today's tables).
    scratch = tmp_path / "scratch.db"
    with Store(scratch, now=clock) as v1:
        v1.ingest([make_draft(f"T-{n}", model="gpt-x") for n in (1, 2, 3)])
        claim = v1.claim_next("alice")
        assert claim is not None
        v1.decide(claim, "approve", "Refund total matches the billing history")
    old.conn.execute(f"ATTACH DATABASE '{scratch}' AS v1")
    for table, columns in V1_COLUMNS.items():
        names = ", ".join(columns)
        old.conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM v1.{table}")
    old.conn.execute("DETACH DATABASE v1")
    old.conn.close()
    assert "item_counts" not in Database(db_path).table_names()

    before = _dump(db_path)
    with Store(db_path, now=clock) as store:
        assert _dump(db_path) == before
        assert store.verify_chain().ok
        counts = {c.source: c for c in store.counts()}
        assert (counts["support"].decided, counts["support"].pending) == (1, 2)
        assert store.decision_counts() == {"approve": 1}  # m017 counted what was there
        assert store.stats().by_model["gpt-x"].decisions == 1  # m019 kept the event's model
        assert [m.name for m in migrations.applied(store.db)] == NAMES
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


V1_COLUMNS = {
    "items": (*ITEM_COLUMNS[:-1], "meta", "content_hash", "stakes_rank"),
    "claims": ("id", "item_id", "reviewer", "claimed_at", "lease_expires_at", "ended_at",
               "end_reason"),
    "ledger": (*HASHED_FIELDS, "hash"),
}  # fmt: skip
"""The columns each table had in m001 (later migrations only add)."""


def _dump(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(db_path)
    try:
        return {
            table: conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid").fetchall()
            for table, cols in V1_COLUMNS.items()
        }
    finally:
        conn.close()


def test_a_newer_schema_is_refused(db_path: Path, clock: FakeClock) -> None:
    Store(db_path, now=clock).close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('signoff', 'm999_future', 'x')"
    )
    conn.close()
    with pytest.raises(SchemaError, match="newer signoff"):
        Store(db_path, now=clock)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(SchemaError, match="not a signoff database"):
        Store(path)
    assert path.read_text().startswith("these are my notes")


def test_another_apps_database_is_not_written_into(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="other tables"):
        Store(path)


def test_the_light_list_of_migrations_matches_the_real_one() -> None:
    assert list(store_db.MIGRATIONS) == NAMES


def test_constraints_are_or_chains_and_still_refuse_what_they_refused(
    db_path: Path, clock: FakeClock
) -> None:
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft("T-1")])
        schema = " ".join(
            sql for (sql,) in store.conn.execute("SELECT sql FROM sqlite_master WHERE sql NOT NULL")
        )
        assert " IN ('" not in schema  # an IN list costs ~14 µs a row written (m006)
        for column, value in (("state", "bogus"), ("stakes", "huge"), ("confidence_basis", "x")):
            with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
                store.conn.execute(f"UPDATE items SET {column} = ? WHERE id = 1", (value,))
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            store.conn.execute(
                "INSERT INTO claims (item_id, reviewer, claimed_at, lease_expires_at, ended_at, "
                "end_reason) VALUES (1, 'a', 't', 't', 't', 'lost')"
            )
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_counts_kept_per_batch_match_the_items(db_path: Path, clock: FakeClock) -> None:
    import random

    with Store(db_path, now=clock) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(30)])
        store.ingest([make_draft(f"T-{n}") for n in range(20, 50)])  # 20 new, 10 known
        store.ingest([make_draft(f"L-{n}", source="leads") for n in range(5)])
        store.plant(0.1, random.Random(1))
        claim = store.claim_next("alice")
        assert claim is not None
        actual = {
            (s, st): n
            for s, st, n in store.conn.execute(
                "SELECT source, state, count(*) FROM items GROUP BY source, state"
            )
        }
        kept = {
            (s, st): n
            for s, st, n in store.conn.execute("SELECT source, state, n FROM item_counts WHERE n")
        }
        assert kept == actual
