"""Long results a team database sends while they are read (`store.dialect.stream`).

Stats, exports and the chain's check read every event once and run nothing else on
the connection meanwhile. Through a server-side cursor each `SCAN_ROWS` rows were a
round trip, the server idle between asks: at a million events 500 waits on the
network (10 ms away, a team CSV export took 16.8 s and stats 10.8 s; streamed, 7.6 s
and 2.6 s). A stream is asked once. What these tests hold: every row in order however
it is read, each pass one stream, a statement sent meanwhile refused (psycopg would
wait forever), a stream left early leaving its transaction usable, and a login that
may not read told so in one line.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from store import Store, StoreError
from store.dialect import stream
from store.export import ExportFilter
from store.pg import PgConnection
from tests.conftest import FakeClock, make_draft
from tests.unit_tests.test_team import as_user, team  # noqa: F401  (a fixture)

pytestmark = pytest.mark.postgres

GOOD = "Checked the refund amount against the order history"
SERIES = "SELECT g FROM generate_series(1, 1050) AS g"


@contextmanager
def _decided(url: str, clock: FakeClock) -> Iterator[Store]:
    """A store with a few decisions, one of them retracted."""
    with Store(url, now=clock) as db:
        db.ingest([make_draft(f"T-{n}") for n in range(6)])
        for n in range(5):
            claim = db.claim_next("ann")
            assert claim is not None
            event = db.decide(claim, "approve", f"{GOOD}, ticket number {n} of five")
        db.retract(event.seq, "ann", "Took the wrong ticket, reopening it now")
        yield db


def test_a_stream_brings_every_row_in_order_however_it_is_read(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import store.pg_rows

    monkeypatch.setattr(store.pg_rows, "SCAN_ROWS", 100)
    with Store(pg_url) as db:
        with stream(db.conn, SERIES) as rows:
            read = [row[0] for row in rows.fetchmany(7)]
            while batch := rows.fetchmany(128):
                read += [row[0] for row in batch]
        assert read == list(range(1, 1051))
        with stream(db.conn, SERIES) as rows:
            assert [row[0] for row in rows] == list(range(1, 1051))
        with stream(db.conn, "SELECT 1 WHERE false") as rows:
            assert rows.fetchmany(10) == []


def test_stats_every_export_and_the_chain_check_are_each_one_stream(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pass asks the server chunk by chunk (a named cursor's `FETCH`)."""
    with _decided(pg_url, clock) as db:
        conn = db.conn
        assert isinstance(conn, PgConnection)
        raw = conn.raw
        asked: list[str] = []

        class Counted:
            def __init__(self, cursor: Any) -> None:
                self._cursor = cursor

            def __getattr__(self, name: str) -> Any:
                return getattr(self._cursor, name)

            def stream(self, *args: Any, **kwargs: Any) -> Any:
                asked.append("stream")
                return self._cursor.stream(*args, **kwargs)

        def cursor(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("name") or args:
                asked.append("named cursor")  # a plain one runs each statement
            return Counted(type(raw).cursor(raw, *args, **kwargs))

        monkeypatch.setattr(raw, "cursor", cursor)
        figures = db.stats()
        assert figures.events == 6
        assert asked == ["stream"]
        for fmt in ("csv", "md", "jsonl"):
            asked.clear()
            with db.snapshot() as snap:
                written = io.StringIO()
                assert snap.write(fmt, written, ExportFilter(include_planted=True)) == 6
            streams = 2 if fmt == "md" else 1  # Markdown: its summary's stats, then rows
            assert asked == ["stream"] * streams, fmt
        asked.clear()
        assert db.verify_chain().ok
        assert asked == ["stream"]


def test_a_statement_sent_while_a_stream_is_read_is_refused_not_left_waiting(
    pg_url: str,
) -> None:
    with Store(pg_url) as db:
        with stream(db.conn, SERIES) as rows:
            rows.fetchmany(3)
            with pytest.raises(RuntimeError, match="stream is being read"):
                db.conn.execute("SELECT 1")
        assert db.conn.execute("SELECT 2").fetchone()[0] == 2


@pytest.mark.parametrize("how", ["an error", "enough read"])
def test_a_stream_left_early_leaves_its_transaction_usable(
    pg_url: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream left before its end: the next statement in its transaction runs.

    An export checked against a file stops at the first difference, then renders
    again in the same snapshot (`store.audit`); the chain's check stops at a break.
    The server is still at work when the stream is left (a row every half millisecond,
    sent a hundred at a time): psycopg would cancel it, and a cancelled statement
    aborts its transaction. The rest is read instead.
    """
    import store.pg_rows

    monkeypatch.setattr(store.pg_rows, "SCAN_ROWS", 100)
    slow = "SELECT g, pg_sleep(0.0005) FROM generate_series(1, 1000) AS g"
    with Store(pg_url) as db:
        conn = db.conn
        assert isinstance(conn, PgConnection)
        with conn.snapshot():
            try:
                with stream(conn, slow) as rows:
                    assert len(rows.fetchmany(5)) == 5
                    if how == "an error":
                        raise ValueError("the file differs here")
            except ValueError:
                pass
            assert conn.execute("SELECT count(*) FROM generate_series(1, 3)").fetchone()[0] == 3
            with stream(conn, SERIES) as rows:
                assert len(list(rows)) == 1050


def test_a_login_that_may_not_read_is_told_in_one_line(team: str) -> None:  # noqa: F811
    with Store(as_user(team, "alice")) as alice:
        with (
            pytest.raises(StoreError, match=r"permission denied .*\(a lead's login may\)"),
            stream(alice.conn, "SELECT item_id FROM plants"),
        ):
            pass
        assert alice.conn.execute("SELECT 1").fetchone()[0] == 1


def test_a_stream_is_planned_serial_without_sorts_or_jit(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sorts, JIT and parallel workers off while a stream is planned, and only then.

    A plan that sorts every row first sends nothing until it is done; JIT and parallel
    workers spent processor time a client reading row by row cannot use (`_STREAM_PLAN`).
    The settings are the stream's alone (put back for the next statement, in or out of
    a transaction).
    """
    with Store(pg_url) as db:
        conn = db.conn
        assert isinstance(conn, PgConnection)
        raw = conn.raw
        sent: list[str] = []

        def execute(query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(str(query))
            return type(raw).execute(raw, query, *args, **kwargs)

        monkeypatch.setattr(raw, "execute", execute)
        names = ("enable_sort", "jit", "max_parallel_workers_per_gather")
        setting = "SELECT " + ", ".join(f"current_setting('{name}')" for name in names)
        before = conn.execute(setting).fetchone()
        assert before[:2] == ("on", "on")
        assert before[2] != "0"
        sent.clear()
        with stream(conn, setting) as rows:
            assert rows.fetchmany(5) == [("off", "off", "0")]
        assert not conn.in_transaction
        # Its own snapshot ends with it: the settings go with it, not put back first.
        assert [text for text in sent if text.startswith("SET")] == [
            "SET LOCAL enable_sort = off", "SET LOCAL jit = off",
            "SET LOCAL max_parallel_workers_per_gather = 0",
        ]  # fmt: skip
        assert conn.execute(setting).fetchone() == before
        with conn.snapshot():
            with stream(conn, setting) as rows:
                assert list(rows) == [("off", "off", "0")]
            assert conn.execute(setting).fetchone() == before


def test_a_reader_streaming_is_interrupted_from_another_thread(pg_url: str) -> None:
    """The Stats screen, closed while it counts, interrupts its reader's stream.

    The interrupt comes from the app's thread while the worker's stream is read: it
    must neither refuse (as a statement would) nor send what waits on the connection.
    """
    import threading

    from store.reader import Reader

    slow = "SELECT g, pg_sleep(0.001) FROM generate_series(1, 20000) AS g"
    with Store(pg_url) as db:
        outcome: list[object] = []
        ready = threading.Event()
        readers: list[Reader] = []

        def count() -> None:
            with db.reader() as reader:
                readers.append(reader)
                try:
                    with stream(reader._conn, slow) as rows:
                        ready.set()
                        outcome.append(len(list(rows)))
                except Exception as error:  # psycopg's QueryCanceled
                    outcome.append(type(error).__name__)

        worker = threading.Thread(target=count)
        worker.start()
        assert ready.wait(10)
        while worker.is_alive():
            readers[0].interrupt()
            worker.join(0.01)
        assert outcome == ["QueryCanceled"]
