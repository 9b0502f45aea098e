"""One store, two engines: the PostgreSQL schema and chain are the SQLite ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from store import JustificationPolicy, Store
from store.ingest import INSERT_COLUMNS
from store.models import Action
from store.pg_schema import TABLES
from tests.conftest import FakeClock, make_draft

pytestmark = pytest.mark.postgres


def test_both_engines_have_the_same_tables_and_columns(db_path: Path, pg_url: str) -> None:
    with Store(db_path) as lite, Store(pg_url) as team:
        assert isinstance(lite.conn, sqlite3.Connection)
        for table in TABLES:
            sqlite_columns = [row[1] for row in lite.conn.execute(f"PRAGMA table_info({table})")]
            pg_columns = [
                row[0]
                for row in team.conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = ? ORDER BY ordinal_position",
                    (table,),
                )
            ]
            assert pg_columns == sqlite_columns, table


def test_the_same_decisions_make_the_same_chain_on_both_engines(db_path: Path, pg_url: str) -> None:
    heads = []
    for target in (db_path, pg_url):
        clock = FakeClock()
        with Store(target, now=clock, policy=JustificationPolicy()) as store:
            store.ingest([make_draft(f"T-{n}") for n in range(6)])
            actions: tuple[Action, ...] = ("approve", "escalate", "reject", "approve")
            for n, action in enumerate(actions):
                claim = store.claim_next("alice")
                assert claim is not None
                clock.advance(seconds=30)
                store.decide(
                    claim, action, f"Checked ticket {n} against the order history",
                    reason_code="tone" if action == "reject" else None,
                )  # fmt: skip
            last = store.last_retractable("alice")
            assert last is not None
            store.retract(last.seq, "alice", "Pressed approve on the wrong ticket, sorry")
            assert store.verify_chain().ok
            heads.append(store.head())
    assert heads[0] == heads[1]


def test_an_import_stores_the_same_rows_on_both_engines_a_hundred_a_statement(
    db_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team import sends its batch's rows a hundred to an `INSERT`, not one each.

    250 rows: two statements of a hundred and one of fifty, each row where it was, with
    the id it would have had one at a time (the order of the rows is the order of ids).
    """
    from store import pg, pg_rows

    sent: list[tuple[int, int]] = []  # (rows a statement, times sent)
    many_rows = pg_rows.many_rows

    def counted(sql: str, rows: Any) -> Any:
        out = many_rows(sql, rows)
        if sql.startswith("INSERT INTO items "):
            width = len(INSERT_COLUMNS)
            sent.extend((len(group[0]) // width, len(group)) for _, group in out)
        return out

    monkeypatch.setattr(pg, "_many_rows", counted)
    stored = []
    for target in (db_path, pg_url):
        with Store(target) as store:
            store.ingest([make_draft(f"T-{n}", draft=f"Draft {n} says 100% ?") for n in range(250)])
            stored.append(
                [
                    tuple(row)
                    for row in store.conn.execute(
                        "SELECT id, source, external_id, draft, content_hash, state "
                        "FROM items ORDER BY id"
                    )
                ]
            )
    assert stored[0] == stored[1]
    assert len(stored[0]) == 250
    assert sent == [(100, 2), (50, 1)]


def test_a_statement_text_is_translated_once() -> None:
    """Each statement text is translated for PostgreSQL once, not at every send.

    Every statement goes through `translate` (three regex passes), and the store sends
    the same texts over and over. The cache was lost once, when it moved to
    `store.pg_rows`.
    """
    from store.pg_rows import translate

    text = "SELECT id FROM items WHERE title LIKE ? AND id > :after -- 5%"
    assert translate(text) == "SELECT id FROM items WHERE title ILIKE %s AND id > %(after)s -- 5%%"
    before = translate.cache_info().hits
    translate(text)
    assert translate.cache_info().hits == before + 1
