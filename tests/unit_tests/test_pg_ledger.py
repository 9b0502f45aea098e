"""The ledger chain on a real PostgreSQL server: concurrent writers never fork it.

The cluster is started from the installed binaries (see tests/pg.py); without them
these tests skip with the reason.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import cluster, pg_bin

psycopg = pytest.importorskip("psycopg")

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
WRITERS, EACH = 8, 250


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install postgresql): "
                    "the PostgreSQL tests did not run")  # fmt: skip
    with cluster() as conninfo:
        yield conninfo


@pytest.fixture
def database(server: str, request: pytest.FixtureRequest) -> str:
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:50]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    conninfo = server.replace("dbname=postgres", f"dbname={name}")
    from store import pg_ledger, pg_queue

    with psycopg.connect(conninfo) as conn:
        pg_ledger.create(conn)
        pg_queue.create(conn)
    return conninfo


def start_writers(database: str, gate: Path, mode: list[str]) -> list[subprocess.Popen[str]]:
    """WRITERS processes, each ready and waiting for `gate` before it starts."""
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.unit_tests.pg_writer",
                database,
                f"w{n}",
                str(EACH),
                str(gate),
                *mode,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    for writer in writers:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
    return writers


def test_eight_writers_make_one_chain_without_a_fork(database: str, tmp_path: Path) -> None:
    from store import pg_ledger

    gate = tmp_path / "go"
    writers = start_writers(database, gate, [])
    started = time.perf_counter()
    gate.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    took = time.perf_counter() - started
    with psycopg.connect(database) as conn:
        events, broken = pg_ledger.broken_links(conn)
        forks = conn.execute(
            "SELECT count(*) FROM (SELECT prev_hash FROM ledger GROUP BY prev_hash "
            "HAVING count(*) > 1) AS shared"
        ).fetchone()[0]
        interleaved = conn.execute(
            "SELECT count(*) FROM (SELECT reviewer, lag(reviewer) OVER (ORDER BY seq) AS prev "
            "FROM ledger) AS pairs WHERE reviewer <> prev"
        ).fetchone()[0]
    print(f"{events} events from {WRITERS} writers in {took:.2f} s "
          f"({events / took:.0f}/s): {forks} forks, {broken} broken links, "
          f"{interleaved} writer switches")  # fmt: skip
    assert (events, forks, broken) == (WRITERS * EACH, 0, 0)
    assert interleaved >= 50  # they really ran at once


def test_the_ledger_is_append_only_and_links_only_at_the_head(database: str) -> None:
    from store import pg_ledger
    from store.codec import GENESIS_HASH
    from store.ledger import EVENT_FIELDS

    fields = {
        "item_id": 1, "source": "support", "external_id": "T-1", "claim_id": 1,
        "reviewer": "dana", "action": "escalate",
        "justification": "Needs a lead: the refund exceeds my limit", "output": None,
        "reason_code": None, "retracts": None, "draft_sha256": "0" * 64,
        "shown_confidence": None, "shown_basis": "none", "shown_limits": "[]",
        "time_on_item_ms": 1000, "recorded_at": "2026-11-30T15:00:00.000000Z",
    }  # fmt: skip
    with psycopg.connect(database, autocommit=True) as conn:
        seq, head = pg_ledger.append(conn, fields)
        assert seq == 1
        for statement in ("UPDATE ledger SET reviewer = 'eve'", "DELETE FROM ledger",
                          "TRUNCATE ledger", "DELETE FROM chain_head"):  # fmt: skip
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        forged = {**fields, "seq": 2, "prev_hash": GENESIS_HASH, "oversight": None,
                  "hash": "f" * 64}  # fmt: skip
        with pytest.raises(psycopg.errors.RaiseException, match="not the next link"):
            conn.execute(pg_ledger._INSERT, [forged[name] for name in EVENT_FIELDS])
        assert pg_ledger.broken_links(conn) == (1, 0)
        assert conn.execute("SELECT hash FROM chain_head").fetchone()[0] == head


def test_eight_reviewers_over_two_thousand_items(database: str, tmp_path: Path) -> None:
    import datetime as dt

    from store import pg_ledger

    with psycopg.connect(database) as conn:
        conn.cursor().executemany(
            "INSERT INTO items (source, external_id, stakes_rank, created_at) "
            "VALUES (%s, %s, %s, %s)",
            [("support", f"T-{n}", 1 + n % 3, dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
              + dt.timedelta(minutes=n)) for n in range(WRITERS * EACH)],
        )  # fmt: skip
        conn.commit()
    gate = tmp_path / "go"
    reviewers = start_writers(database, gate, ["review"])
    started = time.perf_counter()
    gate.touch()
    decided = []
    for reviewer in reviewers:
        out, err = reviewer.communicate(timeout=300)
        assert reviewer.returncode == 0, err
        decided.append(int(out.split()[-1]))
    took = time.perf_counter() - started
    with psycopg.connect(database) as conn:
        events, broken = pg_ledger.broken_links(conn)
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT item_id FROM ledger GROUP BY item_id "
            "HAVING count(*) > 1) AS again"
        ).fetchone()[0]
        left = conn.execute("SELECT count(*) FROM items WHERE state <> 'escalated'").fetchone()[0]
    print(f"{WRITERS} reviewers decided {events} items in {took:.2f} s ({events / took:.0f}/s;"
          f" each {min(decided)}-{max(decided)}): {twice} decided twice, {left} lost, "
          f"{broken} broken links")  # fmt: skip
    assert (events, twice, left, broken) == (WRITERS * EACH, 0, 0, 0)
    assert sum(decided) == WRITERS * EACH
    assert min(decided) > 0  # every reviewer got work: nobody waited out the others


def test_a_killed_reviewer_leaves_no_partial_event_and_its_item_comes_back(
    database: str,
) -> None:
    import datetime as dt
    import signal

    from store import pg_ledger, pg_queue

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO items (source, external_id, stakes_rank, created_at) "
                     "VALUES ('support', 'T-1', 3, now())")  # fmt: skip
    # A reviewer process claims T-1 with a one-second lease and is killed mid-decision:
    # the event's transaction is open (the chain head locked) when it dies.
    script = (
        "import datetime as dt, os, signal, psycopg\n"
        "from store import pg_queue\n"
        f"conn = psycopg.connect({database!r}, autocommit=True)\n"
        "claim = pg_queue.claim_next(conn, 'gone', dt.timedelta(seconds=1))\n"
        "tx = conn.transaction(); tx.__enter__()\n"
        "conn.execute('SELECT * FROM chain_head FOR UPDATE')\n"
        "conn.execute(\"UPDATE items SET state = 'escalated' WHERE id = %s\", (claim[1],))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with psycopg.connect(database, autocommit=True) as conn:
        assert pg_ledger.broken_links(conn) == (0, 0)  # nothing half-written
        assert pg_queue.claim_next(conn, "alice", dt.timedelta(minutes=5)) is None  # leased
        time.sleep(1.2)
        back = pg_queue.claim_next(conn, "alice", dt.timedelta(minutes=5))
        assert back is not None
        assert back[3] == "T-1"  # its lease ran out: the item is alice's now
        reasons = [r[0] for r in conn.execute("SELECT end_reason FROM claims ORDER BY id")]
        assert reasons == ["expired", None]


def test_claims_renew_release_and_never_decide_twice(database: str) -> None:
    import datetime as dt

    from store import pg_queue

    event = {
        "source": "support", "external_id": "T-1", "reviewer": "alice", "action": "escalate",
        "justification": "A lead should see this refund", "output": None, "reason_code": None,
        "retracts": None, "draft_sha256": "0" * 64, "shown_confidence": None,
        "shown_basis": "none", "shown_limits": "[]", "time_on_item_ms": 10,
        "recorded_at": "2026-11-30T15:00:00.000000Z",
    }  # fmt: skip
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO items (source, external_id, stakes_rank, created_at) "
                     "VALUES ('support', 'T-1', 3, now())")  # fmt: skip
        minute = dt.timedelta(minutes=1)
        first = pg_queue.claim_next(conn, "alice", minute)
        assert first is not None
        assert pg_queue.renew(conn, first[0], minute)
        assert pg_queue.release(conn, first[0])
        assert not pg_queue.release(conn, first[0])  # already given back
        assert not pg_queue.renew(conn, first[0], minute)
        with pytest.raises(LookupError, match="has ended; nothing recorded"):
            pg_queue.record(conn, first[0], event, "escalated")
        second = pg_queue.claim_next(conn, "bob", minute)
        assert second is not None
        assert second[1] == first[1]  # the same item, claimed again
        pg_queue.record(conn, second[0], {**event, "reviewer": "bob"}, "escalated")
        with pytest.raises(LookupError):
            pg_queue.record(conn, second[0], {**event, "reviewer": "bob"}, "escalated")
        assert conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 1


def test_the_sqlite_ledgers_row_rules_hold_on_postgresql_too(database: str) -> None:
    from store import pg_ledger

    good = {
        "item_id": 1, "source": "support", "external_id": "T-1", "claim_id": 7,
        "reviewer": "dana", "action": "approve",
        "justification": "Checked the refund against the invoice", "output": "Hello",
        "reason_code": None, "retracts": None, "draft_sha256": "0" * 64,
        "shown_confidence": 0.9, "shown_basis": "logprobs", "shown_limits": "[]",
        "time_on_item_ms": 1000, "recorded_at": "2026-11-30T15:00:00.000000Z",
    }  # fmt: skip
    broken: list[dict[str, object]] = [
        {"action": "reject", "output": None},  # reject without a reason code
        {"output": None},  # approve without its output
        {"justification": "   ok  \n\t   "},  # whitespace is not a reason
        {"shown_limits": "not json"},
    ]
    with psycopg.connect(database, autocommit=True) as conn:
        for change in broken:
            with pytest.raises((psycopg.errors.IntegrityError, psycopg.errors.DataError)):
                pg_ledger.append(conn, {**good, **change})
        pg_ledger.append(conn, good)
        with pytest.raises(psycopg.errors.UniqueViolation):  # one decision per claim
            pg_ledger.append(conn, {**good, "external_id": "T-1b"})
        assert pg_ledger.broken_links(conn) == (1, 0)
