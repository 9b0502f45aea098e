"""The queue's search: substrings of id, title or draft, any case, from an index on SQLite."""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from store import Store
from store.migrations import migrations
from store.pg import PgConnection, translate
from store.search import search_clause
from store.views import PageRequest, QueueFilter, matching, page
from tests.conftest import FakeClock, make_draft, query_plans
from tests.unit_tests.test_cli import run


def _found(store: Store, term: str) -> list[str]:
    where = QueueFilter(status="pending", search=term)
    shown = [row.external_id for row in store.page(where, PageRequest())]
    with store.reader() as reader:
        assert reader.matching(where) == len(shown), term
    return sorted(shown)


def test_search_finds_literal_substrings_in_any_column_whatever_the_case(
    db_target: Path | str, clock: FakeClock
) -> None:
    with Store(db_target, now=clock) as store:
        store.ingest([
            make_draft("T-0042", title="Café RÉSUMÉ", draft="Take 100% off_sale today."),
            make_draft("T-0043", title="Other", draft='She said "hi" AND NEAR(left) * x.'),
            make_draft("T-0044", title="offXsale", draft="Nothing here matches 100 percent."),
        ])  # fmt: skip
        assert _found(store, "t-0042") == ["T-0042"]  # the id, lower case
        # Non-ASCII letters in the other case: the trigram index folds them; PostgreSQL's
        # ILIKE folds as the database's locale does (the test server's C locale: ASCII).
        folded = ["T-0042"] if isinstance(db_target, Path) else []
        assert _found(store, "résumé") == folded
        assert _found(store, "RÉSUMÉ") == ["T-0042"]
        assert _found(store, "100%") == ["T-0042"]  # % is a character, not a wildcard
        assert _found(store, "f_s") == ["T-0042"]  # _ too (not "offXsale")
        assert _found(store, 'said "hi" and near(') == ["T-0043"]  # no query syntax
        assert _found(store, ") * x") == ["T-0043"]
        # Id and title are two columns: a term spanning them (PostgreSQL's index joins
        # them with \x01) matches neither.
        assert _found(store, "0042\x01Caf") == []
        assert _found(store, "T-004") == ["T-0042", "T-0043", "T-0044"]
        assert _found(store, "42") == ["T-0042"]  # shorter than a trigram: a scan
        assert _found(store, "zzzq") == []


def test_search_follows_a_changed_draft(db_target: Path | str, clock: FakeClock) -> None:
    with Store(db_target, now=clock) as store:
        store.ingest([make_draft("T-1", draft="First wording about a refund.")])
        assert _found(store, "first wording") == ["T-1"]
        store.ingest([make_draft("T-1", draft="Second wording about a credit.")])
        assert _found(store, "first wording") == []
        assert _found(store, "second wording") == ["T-1"]


def test_a_search_that_matches_nothing_reads_the_index_not_every_row(
    db_path: Path, clock: FakeClock
) -> None:
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(50)])
        where = QueueFilter(search="nothing like this")
        plans = query_plans(
            store.conn, lambda: page(store.conn, where, PageRequest()), "LEFT JOIN claims"
        )
        # Not every pending row of the order index tested against the index's matches
        # (70 ms per level at a million): the index, asked once, holds none of the term's
        # trigrams, and the pending items' statement is a seek by id that finds nothing.
        # The claimed items' statement too: none of them can hold the term either (at a
        # million with the bench's claims held, testing each: 0.66 → 3.8 ms).
        assert plans, plans
        for plan in plans:
            assert _pending_leg(plan).count("SEARCH items USING INTEGER PRIMARY KEY") == 1
            assert _claimed_leg(plan).count("SEARCH items USING INTEGER PRIMARY KEY") == 1
            assert not re.search(r"SCAN items\b|USING INDEX items_", plan), plan
        asked = query_plans(store.conn, lambda: page(store.conn, where, PageRequest()), "MATCH")
        assert len(asked) == 1, asked  # the probe; no stakes level asks again
        # A term the index has: its matches are found there and their rows read by id.
        where = QueueFilter(search="your refund for order T-7 ")
        plans = query_plans(
            store.conn, lambda: page(store.conn, where, PageRequest()), "LEFT JOIN claims"
        )
        assert plans, plans
        for plan in plans:
            assert "items_fts VIRTUAL TABLE INDEX" in _pending_leg(plan), plan
            assert "SEARCH items USING INTEGER PRIMARY KEY" in _pending_leg(plan), plan
            assert not re.search(r"SCAN items\b|USING INDEX items_", _pending_leg(plan)), plan
            # The claimed ones: not the index's matches (for a common term, all the
            # queue's: 153 → 305 ms a page at a million), their own rows tested.
            assert "INDEX items_next (state=? AND stakes_rank=?)" in _claimed_leg(plan), plan
            assert "items_fts" not in _claimed_leg(plan), plan
        # Counted from the matches too, not by testing each item of the order index
        # against them: that read every match's row at a random place.
        where = QueueFilter(status="pending", search="hello, your")
        plans = query_plans(store.conn, lambda: matching(store.conn, where), "count(*) FROM items")
        assert plans, plans
        for plan in plans:
            assert "items_fts VIRTUAL TABLE INDEX" in plan, plan
            assert "SEARCH items USING INTEGER PRIMARY KEY" in plan, plan
            assert "items_next" not in plan, plan


def _pending_leg(plan: str) -> str:
    """An open page's plan (`store.views._level`): the part reading the pending items."""
    assert plan.startswith("MERGE (UNION ALL) LEFT CO-ROUTINE s0 "), plan
    return plan.split(" RIGHT ")[0]


def _claimed_leg(plan: str) -> str:
    """An open page's plan: the part reading the claimed items."""
    return plan.split(" RIGHT ")[1]


def test_an_open_page_finds_claimed_items_as_the_index_finds_pending_ones(
    db_target: Path | str, clock: FakeClock
) -> None:
    with Store(db_target, now=clock) as store:
        twins = [make_draft(f"T-{n}", title="Résumé for the CAFÉ") for n in (1, 2)]
        store.ingest([*twins, make_draft("T-3", title="Nothing to see")])
        claim = store.claim_next("alice")  # T-1 claimed, its twin T-2 pending
        assert claim is not None
        assert store.get_item(claim.item_id).external_id == "T-1"
        both = [("T-1", "claimed"), ("T-2", "pending")]
        # Non-ASCII letters in another case: SQLite folds them (`signoff_has`), claimed
        # or not; PostgreSQL's ILIKE as the test server's C locale does (ASCII only).
        folded = both if isinstance(db_target, Path) else []
        for term, found in (("résumé FOR the", both), ("the café", folded), ("xyz", [])):
            where = QueueFilter(search=term)
            rows = store.page(where, PageRequest())
            assert [(r.external_id, r.state) for r in rows] == found, term
            with store.reader() as reader:
                assert reader.matching(where) == len(found), term
        rows = store.page(QueueFilter(search="nothing to"), PageRequest())
        assert [r.external_id for r in rows] == ["T-3"]
        if isinstance(db_target, Path):
            # Items the index has not seen (as after a crash mid-import): the probe finds
            # nothing, and a claimed one is tested on its row all the same.
            store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('delete-all')")
            store.conn.execute("UPDATE items_fts_mark SET upto = 0")
            rows = store.page(QueueFilter(search="résumé FOR the"), PageRequest())
            assert [(r.external_id, r.state) for r in rows] == both


def test_an_older_database_gets_its_items_indexed_when_opened(
    db_path: Path, clock: FakeClock
) -> None:
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft("T-1", draft="An older draft about invoices.")])
    conn = sqlite3.connect(db_path, isolation_level=None)
    _without_search_index(conn)
    conn.close()
    with Store(db_path, now=clock) as store:
        assert _found(store, "older draft") == ["T-1"]


def _without_search_index(conn: sqlite3.Connection) -> None:
    """The database as before m015: no search index, and none of its migrations recorded."""
    for trigger in ("items_fts_update", "items_fts_delete"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE items_fts")
    conn.execute("DROP TABLE items_fts_mark")
    conn.execute(
        "DELETE FROM _sqlite_migrations WHERE name IN ('m015_search_index', "
        "'m018_search_index_merges', 'm020_search_index_without_positions', "
        "'m021_search_index_without_sizes')"
    )


def test_items_the_index_has_not_seen_are_still_found_and_later_indexed(
    db_path: Path, clock: FakeClock
) -> None:
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft("T-1", draft="Indexed wording."), make_draft("T-2")])
        # As if something had written items without indexing them: the index is emptied.
        store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('delete-all')")
        store.conn.execute("UPDATE items_fts_mark SET upto = 0")
        assert _found(store, "indexed wording") == ["T-1"]  # the scan above the watermark
        # The next import changes T-1, above the watermark: the trigger must not 'delete'
        # it from the index (that corrupts an external-content index); the import's
        # catch-up indexes its new text.
        store.ingest([make_draft("T-1", draft="Changed wording.")])
        store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        plans = query_plans(
            store.conn,
            lambda: store.page(QueueFilter(search="changed wording"), PageRequest()),
            "LEFT JOIN claims",
        )
        assert not any(re.search(r"SCAN items\b", plan) for plan in plans), plans
        assert _found(store, "changed wording") == ["T-1"]
        assert _found(store, "indexed wording") == []


def test_an_id_freed_at_the_top_is_indexed_when_taken_again(
    db_path: Path, clock: FakeClock
) -> None:
    # SQLite gives a new item the largest id + 1: with the top item deleted, its id comes
    # back. The watermark must come down with it, or the new item is never indexed and
    # its first update 'deletes' from the index a row it never held (corrupting it).
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft("T-1"), make_draft("T-2", draft="Gone soon.")])
        store.conn.execute("DELETE FROM items WHERE external_id = 'T-2'")
        store.ingest([make_draft("T-3", draft="A second tenant.")])
        assert store.conn.execute("SELECT id FROM items WHERE external_id = 'T-3'").fetchone() == (
            2,
        )
        assert _found(store, "second tenant") == ["T-3"]
        store.ingest([make_draft("T-3", draft="A changed tenant.")])
        store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        assert _found(store, "changed tenant") == ["T-3"]


def test_an_import_indexes_its_items_thousands_at_a_time_and_the_rest_at_its_end(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("store.db.BULK_INDEX_ROWS", 40)

    def indexed(store: Store) -> int:
        # Ids 1, 2, …: the largest indexed is how many are.
        return int(store.conn.execute("SELECT upto FROM items_fts_mark").fetchone()[0])

    with Store(db_path, now=clock) as store:
        store.ingest([make_draft("T-0")])
        assert indexed(store) == 1  # outside an import: with its own write
        with store.bulk():
            for start in range(1, 76, 15):  # five batches of 15
                store.ingest(
                    [
                        make_draft(f"T-{n}", draft=f"Batch text {n}.")
                        for n in range(start, start + 15)
                    ]
                )
                if start == 31:  # 45 ids above the watermark: indexed
                    assert indexed(store) == 46
                if start == 46:  # 15 more: left for later, found all the same
                    assert indexed(store) == 46
                    assert _found(store, "batch text 55.") == ["T-55"]
            assert indexed(store) == 46  # 30 above the watermark
        assert indexed(store) == 76  # the rest, as the import ends
        store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")

        def interrupted() -> None:
            with store.bulk():
                store.ingest([make_draft("T-76")])
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):  # nothing more is written
            interrupted()
        assert indexed(store) == 76
        assert _found(store, "batch text 75.") == ["T-75"]
        assert _found(store, "t-76") == ["T-76"]  # by the scan above the watermark
        # A planting run is a bulk writer too: its plants and T-76 indexed by its end.
        assert len(store.plant(0.5, random.Random(3))) == 77
        assert indexed(store) == 154
        store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


@pytest.mark.postgres
def test_a_team_search_can_be_answered_from_trigram_indexes(pg_url: str, clock: FakeClock) -> None:
    with Store(pg_url, now=clock) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(50)])
        conn = store.conn
        assert isinstance(conn, PgConnection)
        found = search_clause("nothing like this", conn)
        # A small table is read whole whatever the indexes; the question is whether the
        # clause the search builds can use the index. At 100k items
        # the planner takes them by itself: ~80 ms → ~1 ms for a search matching nothing.
        conn.raw.execute("SET enable_seqscan = off")
        sql = translate(f"EXPLAIN SELECT items.id FROM items WHERE {found.clause}")
        plan = "\n".join(row[0] for row in conn.raw.execute(sql, found.args))
        assert "Bitmap Index Scan on items_search" in plan, plan
        # An id looked up by equality is never read through the trigram index (36 ms
        # each when a trigram index on external_id was there to take).
        probe = conn.raw.execute(
            "EXPLAIN SELECT 1 FROM items WHERE source = 'support' AND external_id = 'T-1'"
        ).fetchall()
        assert "items_search" not in str(probe)


def test_the_index_merges_sixteen_segments_at_a_time(db_path: Path, clock: FakeClock) -> None:
    with Store(db_path, now=clock) as store:
        row = store.conn.execute("SELECT v FROM items_fts_config WHERE k = 'automerge'")
        assert row.fetchone() == (16,)


def _as_m015_found(conn: sqlite3.Connection, term: str) -> set[int]:
    """The oracle: the ids m015's index (trigram positions kept) gave for `term` as a phrase."""
    phrase = '"' + term.replace('"', '""') + '"'
    return {
        row[0] for row in conn.execute("SELECT rowid FROM old_fts WHERE old_fts MATCH ?", (phrase,))
    }


def test_a_search_finds_what_the_index_with_positions_found(
    db_path: Path, clock: FakeClock
) -> None:
    # Texts over a small alphabet, so that many terms have all their trigrams in an item
    # without the term itself (the index without positions offers those items; the search
    # must drop them), in both cases, with letters only their case tells apart (é/É, ö/Ö)
    # and characters FTS5 and LIKE would read as syntax.
    rng = random.Random(20)
    alphabet = 'aaabbbABéÉ öÖß-%_*"():1'

    def text(low: int, high: int, letters: str = alphabet) -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(low, high)))

    with Store(db_path, now=clock) as store:
        store.ingest([
            make_draft(f"T-{i}", title=text(0, 12), draft=text(1, 30)) for i in range(400)
        ])  # fmt: skip
        conn = store.conn
        assert isinstance(conn, sqlite3.Connection)
        conn.execute(
            "CREATE VIRTUAL TABLE old_fts USING fts5(external_id, title, draft, "
            "content = 'items', content_rowid = 'id', tokenize = 'trigram')"
        )
        conn.execute("INSERT INTO old_fts (old_fts) VALUES ('rebuild')")
        texts = [
            t for row in conn.execute("SELECT external_id, title, draft FROM items") for t in row
        ]
        terms = [text(3, 6, "abABéÉ") for _ in range(300)]
        for _ in range(300):
            whole = rng.choice([t for t in texts if len(t) >= 3])
            start = rng.randrange(len(whole) - 2)
            cut = whole[start : start + rng.randint(3, 8)]
            terms.append("".join(c.swapcase() if rng.random() < 0.4 else c for c in cut))
        offered = 0
        for term in terms:
            found = search_clause(term, conn)
            rows = conn.execute(
                f"SELECT items.id FROM {found.table} WHERE {found.clause}", found.args
            )
            expected = _as_m015_found(conn, term)
            assert {row[0] for row in rows} == expected, term
            assert matching(conn, QueueFilter(status="open", search=term)) == len(expected), term
            if found.args:  # none when the index holds none of the term's trigrams
                query = "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?"
                offered += conn.execute(query, found.args[:1]).fetchone()[0] - len(expected)
        assert offered > 100  # the index offered items without the term: they were dropped


def test_an_index_with_positions_is_rebuilt_without_them(db_path: Path, clock: FakeClock) -> None:
    with Store(db_path, now=clock) as store:
        store.ingest(
            [make_draft(f"T-{i}", draft=f"Draft number {i} about Crème brûlée.") for i in range(30)]
        )
    old = Database(sqlite3.connect(db_path, isolation_level=None), execute_plugins=False)
    # Back to the index m019 left: m015's table, merging as m018 set it.
    _without_search_index(old.conn)
    migrations.apply(old, stop_before="m020_search_index_without_positions")
    assert (
        "detail"
        not in old.conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'items_fts'"
        ).fetchone()[0]
    )
    old.conn.close()
    # The first start of this version says why it waits (a large queue's rebuild takes
    # seconds); the next says nothing.
    first, again = run("status", "--db", str(db_path)), run("status", "--db", str(db_path))
    assert first.returncode == again.returncode == 0, first.stderr
    assert first.stderr == f"signoff: bringing {db_path} up to date for this version (once)…\n"
    assert again.stderr == ""
    with Store(db_path, now=clock) as store:
        sql = store.conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'items_fts'"
        ).fetchone()[0]
        assert "detail = none, columnsize = 0" in sql
        store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        mark = store.conn.execute("SELECT upto FROM items_fts_mark").fetchone()[0]
        assert mark == store.conn.execute("SELECT max(id) FROM items").fetchone()[0]
        assert _found(store, "CRÈME BRÛ") == sorted(f"T-{i}" for i in range(30))
        assert _found(store, "number 17 ") == ["T-17"]
        row = store.conn.execute("SELECT v FROM items_fts_config WHERE k = 'automerge'")
        assert row.fetchone() == (16,)


def test_an_item_indexed_while_a_search_starts_is_found(db_path: Path, clock: FakeClock) -> None:
    # The search reads the index's watermark and probes the index in two statements. An
    # import that indexes a matching item between them must not fall between the two:
    # under the watermark the probe missed (the item was not there yet), it would be in
    # neither the index's answer nor the scan above the watermark.
    with Store(db_path, now=clock) as store, Store(db_path, now=clock) as importer:
        store.ingest([make_draft("T-1", draft="Nothing to see.")])
        conn = store.conn
        assert isinstance(conn, sqlite3.Connection)
        started: list[str] = []

        def between(sql: str) -> None:
            if "items_fts_mark" in sql or "MATCH" in sql:
                started.append(sql)
                if len(started) == 2:  # the second of the two is starting
                    importer.ingest([make_draft("T-2", draft="A late arrival.")])

        conn.set_trace_callback(between)
        try:
            found = search_clause("late arrival", conn)
        finally:
            conn.set_trace_callback(None)
        assert len(started) == 2, started
        rows = conn.execute(
            f"SELECT external_id FROM {found.table} WHERE {found.clause}", found.args
        )
        assert [row[0] for row in rows] == ["T-2"]
