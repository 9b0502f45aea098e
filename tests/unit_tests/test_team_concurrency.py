"""Team mode under load, on a real PostgreSQL server: many reviewers, one honest ledger.

Every process here is a separate OS process with its own connection, as reviewers on
separate machines are. The cluster comes from the installed binaries (tests/pg.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from store import Store
from tests.conftest import make_draft
from tests.engines import REFUSED

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
WRITERS, EACH = 8, 250


def start(url: str, gate: Path, mode: str) -> list[subprocess.Popen[str]]:
    """WRITERS processes, each ready and waiting for `gate` before it starts."""
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.unit_tests.pg_writer",
                url,
                f"w{n}",
                str(EACH),
                str(gate),
                mode,
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


def finish(writers: list[subprocess.Popen[str]]) -> list[list[int]]:
    """Wait for every writer; the numbers each printed."""
    printed = []
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        printed.append([int(word) for word in out.split()])
    return printed


def forks(store: Store) -> int:
    """Events whose `prev_hash` another event shares (a fork of the chain)."""
    row = store.conn.execute(
        "SELECT count(*) FROM (SELECT prev_hash FROM ledger GROUP BY prev_hash "
        "HAVING count(*) > 1) AS shared"
    ).fetchone()
    return int(row[0])


def test_writers_that_skip_the_lock_are_refused_never_forked(pg_url: str, tmp_path: Path) -> None:
    """The fork regression: 8 writers read the head without a lock and append at once."""
    with Store(pg_url) as store:
        store.ingest([make_draft("T-1")])
        store.conn.executemany(
            "INSERT INTO claims (id, item_id, reviewer, claimed_at, lease_expires_at, "
            "ended_at, end_reason) VALUES (?, 1, 'w', 'x', 'x', 'x', 'released')",
            [(n,) for n in range(1, WRITERS * EACH + 1)],
        )
        gate = tmp_path / "go"
        writers = start(pg_url, gate, "naive")
        started = time.perf_counter()
        gate.touch()
        printed = finish(writers)
        took = time.perf_counter() - started
        report = store.verify_chain()
        refused = sum(p[1] for p in printed)
        print(
            f"{report.events} events from {WRITERS} lock-skipping writers in {took:.2f} s: "
            f"{forks(store)} forks, {refused} stale links refused, chain ok={report.ok}"
        )
        assert (report.events, forks(store), report.ok) == (WRITERS * EACH, 0, True)
        assert refused > 0  # they really collided; the trigger refused each stale link


def test_eight_reviewers_over_two_thousand_items(pg_url: str, tmp_path: Path) -> None:
    with Store(pg_url) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(WRITERS * EACH)])
        gate = tmp_path / "go"
        reviewers = start(pg_url, gate, "review")
        started = time.perf_counter()
        gate.touch()
        decided = [p[0] for p in finish(reviewers)]
        took = time.perf_counter() - started
        report = store.verify_chain()
        twice = store.conn.execute(
            "SELECT count(*) FROM (SELECT item_id FROM ledger GROUP BY item_id "
            "HAVING count(*) > 1) AS again"
        ).fetchone()[0]
        left = store.conn.execute(
            "SELECT count(*) FROM items WHERE state <> 'escalated'"
        ).fetchone()[0]
        switches = store.conn.execute(
            "SELECT count(*) FROM (SELECT reviewer, lag(reviewer) OVER (ORDER BY seq) AS prev "
            "FROM ledger) AS pairs WHERE reviewer <> prev"
        ).fetchone()[0]
        print(f"{WRITERS} reviewers decided {report.events} items through the store in "
              f"{took:.2f} s ({report.events / took:.0f}/s; each {min(decided)}-{max(decided)}): "
              f"{twice} decided twice, {left} lost, {forks(store)} forks, "
              f"{switches} reviewer switches")  # fmt: skip
        assert (report.events, twice, left, forks(store), report.ok) == (
            WRITERS * EACH, 0, 0, 0, True)  # fmt: skip
        assert sum(decided) == WRITERS * EACH
        assert min(decided) > 0
        assert switches >= 50


def test_a_killed_reviewer_leaves_no_partial_event_and_its_item_comes_back(pg_url: str) -> None:
    with Store(pg_url) as store:
        store.ingest([make_draft("T-1")])
    # A reviewer claims T-1 with a one-second lease and is killed mid-decision: its write
    # transaction is open (lock held, the item already changed) when it dies.
    script = (
        "import datetime as dt, os, signal\n"
        "from store import Store\n"
        f"store = Store({pg_url!r}, lease=dt.timedelta(seconds=1))\n"
        "claim = store.claim_next('gone')\n"
        "with store._immediate() as conn:\n"
        "    conn.execute(\"UPDATE items SET state = 'escalated', claim_id = NULL\")\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Store(pg_url) as store:
        assert store.verify_chain().events == 0  # nothing half-written
        assert store.claim_next("alice") is None  # still leased to the dead reviewer
        time.sleep(1.2)
        back = store.claim_next("alice")
        assert back is not None
        assert store.get_item(back.item_id).external_id == "T-1"
        reasons = [r[0] for r in store.conn.execute("SELECT end_reason FROM claims ORDER BY id")]
        assert reasons == ["expired", None]


def test_the_chain_head_cannot_be_deleted_or_truncated(pg_url: str) -> None:
    with Store(pg_url) as store:
        for statement in (
            "DELETE FROM chain_head",
            "TRUNCATE chain_head",
            "TRUNCATE ledger CASCADE",
        ):
            with pytest.raises(REFUSED, match="append-only"):
                store.conn.execute(statement)
        with pytest.raises(psycopg.errors.CheckViolation):
            store.conn.execute("INSERT INTO chain_head VALUES (2, 0, 'x')")


def test_a_decision_holds_its_item_from_its_read_to_its_commit(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing reads the settle's row count (it goes with the commit, unanswered).

    So from the decision's read (made under the write lock) to its commit, no other
    transaction may change the item's row: a claim takes no write lock, only row
    locks. Here a writer that takes none tries to give the item back while the
    decision is being made; it must wait, and the decision settles the item.
    """
    with Store(pg_url) as owner:
        owner.ingest([make_draft("T-1")])
    with Store(pg_url) as alice, psycopg.connect(pg_url, autocommit=True) as other:
        claim = alice.claim_next("alice")
        assert claim is not None
        append = alice._append
        tried: list[str] = []

        def meanwhile(conn: Any, **values: Any) -> Any:
            other.execute("SET lock_timeout = '200ms'")
            try:
                other.execute("UPDATE items SET claim_id = NULL, state = 'pending'")
                tried.append("changed")
            except psycopg.errors.LockNotAvailable:
                tried.append("waited")
            return append(conn, **values)

        monkeypatch.setattr(alice, "_append", meanwhile)
        event = alice.decide(claim, "escalate", "Sending this refund to a lead to look at it")
        assert tried == ["waited"]
        assert event.claim_id == claim.id
        state = other.execute("SELECT state, claim_id FROM items").fetchone()
        assert state == ("escalated", None)


def test_a_claim_given_back_and_taken_before_a_decision_records_nothing(pg_url: str) -> None:
    # Its lease ran out, say, and the sweep gave it back; then another reviewer took it.
    from store import ClaimError

    with Store(pg_url) as owner:
        owner.ingest([make_draft("T-1")])
    with Store(pg_url) as alice, Store(pg_url) as bob:
        claim = alice.claim_next("alice")
        assert claim is not None
        assert bob.release(claim)
        taken = bob.claim_next("bob")
        assert taken is not None
        with pytest.raises(ClaimError, match="already ended"):
            alice.decide(claim, "escalate", "Sending this refund to a lead to look at it")
        assert bob.conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0
        state = bob.conn.execute("SELECT state, claim_id FROM items").fetchone()
        assert tuple(state) == ("claimed", taken.id)
        assert bob.decide(taken, "escalate", "Bob sends this refund to a lead instead").seq == 1


def test_the_probe_before_a_write_sees_another_writer_and_holds_nothing(pg_url: str) -> None:
    """The app asks `write_lock_free` before each write, and shows "waiting" if not free.

    One statement takes the lock and gives it back: the probe must not say "free" while
    another writer holds it, nor keep it (every other writer would then wait on it).
    """
    with Store(pg_url) as probe, Store(pg_url) as writer, psycopg.connect(pg_url) as other:
        probe.ingest([make_draft("T-1")])
        assert probe.write_lock_free()
        with writer.conn.write() as conn:  # type: ignore[union-attr]
            # The begin and the lock go with the write's first statement.
            assert probe.write_lock_free()
            conn.execute("SELECT 1")
            assert not probe.write_lock_free()
            # A claim takes no write lock: it need not wait, nor ask (no round trip).
            assert probe.write_lock_free(claim=True)
            assert probe.claim_next("bob") is not None
        assert probe.write_lock_free()
        held = other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        ).fetchone()
        assert held == (0,)
