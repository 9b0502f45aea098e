"""A long chain checked in several processes says what one process says (`store.chain_split`).

The ranges here are 4 events long (the real ones 50,000), in two processes spawned
for each check, each reading the test's real SQLite file or PostgreSQL database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from store import Store, chain_split, codec
from store import chain as chain_module
from store.chain import verify
from store.chain_split import Split
from store.errors import StoreError
from store.ledger import EVENT_FIELDS, event_hash
from store.models import ChainReport
from store.pg import PgConnection
from tests.conftest import make_draft
from tests.engines import tamper

GOOD = "Checked the refund against the order history: correct"
EVENTS = 30


@pytest.fixture
def ranges(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ranges of 4 from any length; the positions this process's own walk began at."""
    monkeypatch.setattr(chain_split, "SPLIT_FROM", 0)
    monkeypatch.setattr(chain_split, "RANGE", 4)
    began: list[int] = []
    real = codec.first_break

    def walk(rows: Any, names: Any, digest: Any, start: tuple[int, str], noun: str) -> Any:
        began.append(start[0])
        return real(rows, names, digest, start, noun)

    monkeypatch.setattr(chain_module, "first_break", walk)
    return began


def _decided(store: Store) -> None:
    store.ingest([make_draft(f"T-{n}") for n in range(EVENTS)])
    for n in range(EVENTS):
        item = store.find_item("support", f"T-{n}")
        assert item is not None
        store.decide(store.claim_item(item.id, "alice"), "approve", f"{GOOD}, ticket {n}")


def _split(store: Store) -> ChainReport:
    return verify(store.conn, None, Split(store.url or store.path, 2))


def test_the_ranges_check_the_whole_chain(store: Store, ranges: list[int]) -> None:
    _decided(store)
    one = store.verify_chain()
    assert ranges == [0]
    ranges.clear()
    assert _split(store) == one
    assert (one.ok, one.events) == (True, EVENTS)
    assert ranges == [EVENTS]  # the processes checked every event; nothing was left here


def test_an_altered_event_is_found_where_one_process_finds_it(
    store: Store, ranges: list[int]
) -> None:
    _decided(store)
    tamper(store, "UPDATE ledger SET justification = 'Edited after the fact!!' WHERE seq = 14")
    one = store.verify_chain()
    assert (one.ok, one.first_bad_seq) == (False, 14)
    ranges.clear()
    assert _split(store) == one
    assert ranges == [12]  # on from the last range that held


def test_a_link_broken_between_two_ranges_is_found(store: Store, ranges: list[int]) -> None:
    """Event 8 edited and rehashed holds; event 9, the next range's first, no longer links."""
    _decided(store)
    stored = store.conn.execute(f"SELECT {', '.join(EVENT_FIELDS)} FROM ledger WHERE seq = 8")
    row = dict(zip(EVENT_FIELDS, stored.fetchone(), strict=True))
    row["justification"] = "Edited after the fact, and rehashed"
    tamper(store, "UPDATE ledger SET justification = ?, hash = ? WHERE seq = 8",
           (row["justification"], event_hash(row)))  # fmt: skip
    one = store.verify_chain()
    assert (one.first_bad_seq, "does not link" in one.problem) == (9, True)
    ranges.clear()
    assert _split(store) == one
    assert ranges == [8]


def test_events_missing_at_a_ranges_end_are_found(store: Store, ranges: list[int]) -> None:
    _decided(store)
    _delete(store, 12)  # the last of the range 9-12
    if isinstance(store.conn, PgConnection):  # a missing event reads as a reviewer's view
        with pytest.raises(StoreError, match="can read 29 of the ledger's 30 events"):
            store.verify_chain()
        with pytest.raises(StoreError, match="can read 29 of the ledger's 30 events"):
            _split(store)
        return
    one = store.verify_chain()
    assert (one.first_bad_seq, one.problem) == (12, "event numbers jump from 11 to 13")
    ranges.clear()
    assert _split(store) == one
    assert ranges == [8]


def test_processes_that_cannot_read_leave_the_walk_to_this_one(
    store: Store, ranges: list[int], tmp_path: Path
) -> None:
    _decided(store)
    one = store.verify_chain()
    ranges.clear()
    assert verify(store.conn, None, Split(tmp_path / "not-there.db", 2)) == one
    assert ranges == [0]


def _delete(store: Store, seq: int) -> None:
    if isinstance(store.conn, PgConnection):
        tamper(store, "DELETE FROM ledger WHERE seq = ?", (seq,))
        return
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS ledger_no_delete")
        conn.execute("DELETE FROM ledger WHERE seq = ?", (seq,))
    finally:
        conn.close()
