"""Catch trials never break an import, never stand out, and never hold the lock for long."""

from __future__ import annotations

import random
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from store import DatabaseBusy, Planted, Store
from tests.conftest import FakeClock, make_draft


def planted_ids(store: Store) -> list[str]:
    return [
        row[0]
        for row in store.conn.execute(
            "SELECT external_id FROM items WHERE id IN (SELECT item_id FROM plants) ORDER BY 1"
        )
    ]


def test_sequential_ids_with_no_gap_still_get_catch_trials(db_path: Path, clock: FakeClock) -> None:
    # Seen on main: 15,000 ids T-0…T-14999 imported, then "no free id like 'T-…' for a
    # catch trial", exit 1, and every later import failed the same way.
    with Store(db_path, now=clock) as store:
        for start in range(0, 15000, 5000):
            store.ingest([make_draft(f"T-{i}") for i in range(start, start + 5000)])
        planted = store.plant(0.05, random.Random(1))
        assert len(planted) == round(15000 * 0.05 / 0.95)
        numbers = sorted(int(p.external_id[2:]) for p in planted)
        assert numbers[0] >= 15000  # no gap inside: the next ids the source would use
        assert all(re.fullmatch(r"T-\d+", p.external_id) for p in planted)
        # A later import of those very ids moves the plants; nothing fails.
        store.ingest([make_draft(f"T-{i}") for i in range(15000, 15000 + len(planted) + 5)])
        assert len(planted_ids(store)) == len(planted)
        assert all(int(x[2:]) >= 15000 + len(planted) + 5 for x in planted_ids(store))
        assert store.plant(0.05, random.Random(2)) is not None
        # ... and the next planting run tops the queue up to the rate again (it used to
        # fail on every import after the first).
        planted_now, real = store.plant_count()
        assert planted_now == round(real * 0.05 / 0.95)


def test_planted_ids_follow_the_source_format_and_range(db_path: Path, clock: FakeClock) -> None:
    with Store(db_path, now=clock) as store:
        # Unpadded 1-100 with gaps (every third id missing), and a padded source.
        store.ingest([make_draft(str(i), source="plain") for i in range(1, 101) if i % 3])
        store.ingest([make_draft(f"INV-{i:05d}", source="padded") for i in range(1, 200)])
        store.ingest([make_draft(f"{random.Random(i).getrandbits(64):016x}", source="hex")
                      for i in range(60)])  # fmt: skip
        store.plant(0.2, random.Random(5))
        by_source = dict(store.conn.execute(
            "SELECT i.source, group_concat(i.external_id, ' ') FROM plants AS p "
            "JOIN items AS i ON i.id = p.item_id GROUP BY i.source"
        ).fetchall())  # fmt: skip
    plain = by_source["plain"].split()
    assert plain
    assert all(x.isdigit() and not x.startswith("0") and 1 <= int(x) <= 100 for x in plain)
    assert all(int(x) % 3 == 0 for x in plain)  # they fill the source's own gaps
    assert all(re.fullmatch(r"INV-\d{5}", x) for x in by_source["padded"].split())
    assert all(re.fullmatch(r"[0-9a-f]{16}", x) for x in by_source["hex"].split())


def test_planting_a_file_twice_plants_once(db_path: Path, clock: FakeClock) -> None:
    known_bad = [
        (make_draft("X-1", draft="Refunds take 90 days to arrive."), "refunds take 5 days"),
        (make_draft("X-2", draft="Your plan renews in 1999."), "it renews in 2027"),
    ]
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(1, 50)])
        assert len(store.plant_drafts(known_bad, random.Random(1))) == 2
        assert store.plant_drafts(known_bad, random.Random(2)) == []
        assert len(planted_ids(store)) == 2


def _planted_4000(
    db_path: Path, clock: FakeClock, rate: float, seed: int
) -> tuple[list[Planted], list[str]]:
    """Plant at `rate` into 4,000 dense ids (T-0…T-3999); the plants and the SQL run."""
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(4000)])
        statements: list[str] = []
        assert isinstance(store.conn, sqlite3.Connection)
        store.conn.set_trace_callback(statements.append)
        planted = store.plant(rate, random.Random(seed))
        store.conn.set_trace_callback(None)
    return planted, statements


def test_a_run_stops_drawing_random_ids_once_the_range_proves_full(
    db_path: Path, clock: FakeClock
) -> None:
    # Dense ids: 50 random tries (one query) found nothing for any plant, and every plant
    # went after the range anyway; those draws were a third of the planting time.
    from store.plant_ids import _MISSES

    planted, statements = _planted_4000(db_path, clock, 0.05, 4)
    draws = [s for s in statements if "AND external_id IN (" in s]
    assert len(planted) == round(4000 * 0.05 / 0.95)
    assert len(draws) == _MISSES, len(draws)
    numbers = sorted(int(p.external_id[2:]) for p in planted)
    assert numbers == list(range(4000, 4000 + len(planted)))  # next free ids, none twice


def test_planting_commits_in_short_transactions(db_path: Path, clock: FakeClock) -> None:
    planted, statements = _planted_4000(db_path, clock, 0.2, 3)
    commits = sum(1 for s in statements if s.strip().upper() == "COMMIT")
    assert len(planted) == 1000
    assert commits > 1  # not one transaction holding the write lock for all 1,000


def test_a_slow_pace_plants_fewer_at_a_time_not_past_the_transactions_time(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen plants are placed together, fewer when the pace says so.

    A pace that would hold the lock too long (a team database far away) makes the
    groups smaller, down to one a transaction.
    """
    from store import plants

    monkeypatch.setattr(plants, "PLANT_TXN_S", 1e-6)  # any group is over the time
    monkeypatch.setattr(plants, "YIELD_S", 0)
    planted, statements = _planted_4000(db_path, clock, 0.01, 5)
    commits = sum(1 for s in statements if s.strip().upper() == "COMMIT")
    assert len(planted) == 40
    # A group of 16, then one at a time; then the search index catches up (`bulk`).
    assert commits == 1 + len(planted) - plants._GROUP + 1


def test_a_writer_waits_for_a_bulk_writer_between_its_transactions(
    db_path: Path, clock: FakeClock
) -> None:
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft("T-1")])
        other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # a bulk writer mid-transaction
        threading.Timer(0.3, other.execute, ("COMMIT",)).start()
        claim = store.claim_next("alice")  # waits, then gets the lock
        assert claim is not None
        other.close()


def test_a_lock_held_past_the_timeout_is_one_clear_error(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("store.db.BUSY_TIMEOUT_MS", 200)
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft("T-1")])
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseBusy, match="the database is busy"):
                store.claim_next("alice")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store.claim_next("alice") is not None  # the connection is fine afterwards


def test_picking_a_base_walks_the_rowid_and_sorts_nothing(db_path: Path, clock: FakeClock) -> None:
    from tests.conftest import query_plans

    with Store(db_path, now=clock) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(300)])
        plans = query_plans(
            store.conn,
            lambda: store.plant(0.1, random.Random(4)),
            "+state = 'pending' AND NOT EXISTS",  # a base's pick (a neighbour's: test_plants)
        )
    assert plans
    for plan in plans:
        assert "USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_finding_free_ids_takes_a_few_queries_a_plant(db_path: Path, clock: FakeClock) -> None:
    # Dense ids: every random try is taken. One query per try made ~47 a plant, and ~25
    # more for the next free id after the range; each a round trip on a team database.
    planted, statements = _planted_4000(db_path, clock, 0.05, 4)
    probes = [
        s
        for s in statements
        if "FROM items WHERE source =" in s and "external_id" in s.split("WHERE")[1]
    ]
    assert len(planted) == round(4000 * 0.05 / 0.95)
    assert len(probes) <= 4 * len(planted), len(probes)
