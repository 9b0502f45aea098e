"""Real processes on one database file: disjoint claims, and durability under kill -9."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from store import Store
from tests.conftest import make_draft

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _worker(
    mode: str, db: Path, name: str, count: int, gate: Path | None = None
) -> subprocess.Popen[str]:
    env = {**os.environ, "SIGNOFF_TEST_GATE": str(gate) if gate else ""}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit_tests.worker", mode, str(db), name, str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _fill(db: Path, n: int) -> None:
    with Store(db) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(n)])


def test_two_processes_claiming_200_times_get_disjoint_items(db_path: Path, tmp_path: Path) -> None:
    _fill(db_path, 500)
    gate = tmp_path / "go"
    workers = [_worker("claim", db_path, name, 200, gate) for name in ("alice", "bob")]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    gate.touch()
    claimed = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        claimed.append([int(line) for line in out.split()])
    alice, bob = claimed
    assert len(alice) == len(bob) == 200
    assert set(alice).isdisjoint(bob)
    assert len(set(alice) | set(bob)) == 400
    with Store(db_path) as store:
        rows = store.conn.execute(
            "SELECT reviewer, count(*) FROM claims WHERE ended_at IS NULL GROUP BY reviewer"
        ).fetchall()
        assert dict(rows) == {"alice": 200, "bob": 200}
        held = {r[0] for r in store.conn.execute("SELECT id FROM items WHERE state = 'claimed'")}
        assert held == set(alice) | set(bob)
        # The two really competed: claims alternate between them many times.
        order = [r[0] for r in store.conn.execute("SELECT reviewer FROM claims ORDER BY id")]
        switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
        assert switches >= 20


def test_kill_9_mid_stream_keeps_every_committed_decision(db_path: Path) -> None:
    _fill(db_path, 3000)
    worker = _worker("decide", db_path, "alice", 3000)
    assert worker.stdout is not None
    committed = []
    for line in worker.stdout:
        committed.append(int(line))
        if len(committed) == 150:
            os.kill(worker.pid, signal.SIGKILL)
            break
    # Lines already in the pipe were committed too; read them before judging.
    committed.extend(int(line) for line in worker.stdout)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with Store(db_path) as store:
        stored = [e.seq for e in store.events()]
        assert stored[: len(committed)] == committed
        assert len(stored) - len(committed) <= 1  # at most the one in flight at the kill
        assert store.verify_chain().ok
        decided = store.conn.execute("SELECT count(*) FROM items WHERE state = 'decided'")
        assert decided.fetchone()[0] == len(stored)
        # Every committed decision has its delivery queued: same transaction, same fate.
        queued = store.conn.execute("SELECT event_seq FROM outbox ORDER BY event_seq")
        assert [row[0] for row in queued] == stored
