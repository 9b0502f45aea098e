"""Migrations: an old database upgrades without losing anything; foreign files are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

import store.db as store_db
from store import SchemaError, Store
from store.migrations import NAMES, migrations
from tests.conftest import FakeClock, make_draft


def test_a_database_from_the_first_migration_upgrades_intact(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = Database(sqlite3.connect(db_path, isolation_level=None), execute_plugins=False)
    migrations.apply(old, stop_before=NAMES[1])
    assert [m.name for m in migrations.applied(old)] == NAMES[:1]
    old.conn.close()
    # Fill it as the first release would have: same code paths, schema left at m001.
    with monkeypatch.context() as patch:
        patch.setattr(store_db, "_migrate", lambda db, path: None)
        v1 = Store(db_path, now=clock)
        v1.ingest([make_draft("T-1"), make_draft("T-2"), make_draft("T-3")])
        claim = v1.claim_next("alice")
        assert claim is not None
        v1.decide(claim, "approve", "Refund total matches the billing history")
        v1.close()
    assert "item_counts" not in Database(db_path).table_names()

    before = _dump(db_path)
    with Store(db_path, now=clock) as store:
        assert _dump(db_path) == before
        assert store.verify_chain().ok
        counts = {c.source: c for c in store.counts()}
        assert (counts["support"].decided, counts["support"].pending) == (1, 2)
        assert [m.name for m in migrations.applied(store.db)] == NAMES
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _dump(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(db_path)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in ("items", "claims", "ledger")
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
