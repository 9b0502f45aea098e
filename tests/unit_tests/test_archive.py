"""Archiving: old events move to a checked file, the chain still links across the cut."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from store import Store, StoreError
from store.archive import archive, cuts, plan_cut
from store.export import Manifest
from tests.conftest import T0, FakeClock, make_draft
from tests.engines import REFUSED
from tests.unit_tests.test_cli import run
from tests.unit_tests.test_cli_mistakes import one_line_error

WHY = "Checked the refund against the order history"


def a_month_of_decisions(store: Store, clock: FakeClock, n: int = 10) -> list[int]:
    """One decision a day from T0; the third is retracted on day 20 (a late pair)."""
    store.ingest([make_draft(f"T-{i}") for i in range(n)])
    seqs = []
    for i in range(n):
        claim = store.claim_next("alice")
        assert claim is not None
        seqs.append(store.decide(claim, "escalate", f"{WHY}, ticket {i}").seq)
        clock.advance(days=1)
    return seqs


def test_old_events_move_to_a_checked_file_and_the_chain_still_links(
    db_target: Path | str, clock: FakeClock, tmp_path: Path
) -> None:
    with Store(db_target, now=clock) as store:
        a_month_of_decisions(store, clock)
        clock.advance(days=200)
        before_head, point = store.head(), store.checkpoint(at=4)
        through = plan_cut(store, T0 + dt.timedelta(days=6), 183)
        assert through == 6  # events of days 0-5
        file = tmp_path / "2026-h1.jsonl"
        done = archive(store, through, file, "dana")
        assert done.events == 6
        assert store.conn.execute("SELECT min(seq), count(*) FROM ledger").fetchone() == (7, 4)
        report = store.verify_chain()
        assert report.ok, report.problem
        assert (report.events, report.head) == (10, before_head)
        assert store.extends(point) is None  # a checkpoint inside the cut still checks
        assert store.checkpoint().origin == point.origin
        assert store.integrity() == []
        lines = [json.loads(line) for line in file.read_text().splitlines()]
        assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
        manifest = Manifest.read(file.with_name(file.name + ".manifest.json"))
        assert store.verify_export(manifest, file).ok  # the archive checks against the hashes
        # Nothing else can go: a later row, or an archived cut's record.
        for sql in ("DELETE FROM ledger WHERE seq = 8", "DELETE FROM archive_cuts",
                    "UPDATE archived SET hash = 'x'"):  # fmt: skip
            with pytest.raises(REFUSED):
                store.conn.execute(sql)
            store.abandon()
        claim = store.claim_next("alice")
        assert claim is None  # every item decided...
        store.ingest([make_draft("T-new")])  # ...and the queue goes on after a cut
        claim = store.claim_next("alice")
        assert claim is not None
        assert store.decide(claim, "escalate", f"{WHY}, the new one").seq == 11
        assert store.verify_chain().ok
        # `status` counts the events still in the ledger: four left by the cut, one new.
        assert store.decision_counts() == {"escalate": 5}
        assert [c.through_seq for c in cuts(store.conn)] == [6]


def test_a_cut_never_splits_a_retraction_or_goes_inside_the_retention_minimum(
    sqlite_store: Store, clock: FakeClock
) -> None:
    seqs = a_month_of_decisions(sqlite_store, clock)
    sqlite_store.retract(seqs[-1], "alice", "Escalated this one by mistake, taking it back")
    with pytest.raises(StoreError, match="events younger than 183 days are kept"):
        plan_cut(sqlite_store, T0 + dt.timedelta(days=6), 183)
    clock.advance(days=200)
    # Everything before the newest event may go - except the retracted decision, which
    # the (newer) retraction still points at.
    assert plan_cut(sqlite_store, clock.now - dt.timedelta(days=183), 183) == seqs[-1] - 1


def test_a_file_that_does_not_check_leaves_the_ledger_whole(
    sqlite_store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    a_month_of_decisions(sqlite_store, clock)
    with pytest.raises(StoreError, match="event 5 is younger than 183 days"):
        archive(sqlite_store, 5, tmp_path / "a.jsonl", "dana")
    clock.advance(days=200)
    folder = tmp_path / "a folder"
    folder.mkdir()
    with pytest.raises(StoreError, match="cannot write"):
        archive(sqlite_store, 5, folder, "dana")
    assert sqlite_store.conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 10
    assert cuts(sqlite_store.conn) == []


def test_a_tampered_archived_hash_breaks_the_chain(
    sqlite_store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    a_month_of_decisions(sqlite_store, clock)
    clock.advance(days=200)
    archive(sqlite_store, 5, tmp_path / "a.jsonl", "dana")
    raw = sqlite3.connect(sqlite_store.path)
    raw.execute("DROP TRIGGER archived_no_update")
    raw.execute("UPDATE archived SET prev_hash = ? WHERE seq = 3", ("0" * 64,))
    raw.commit()
    raw.close()
    report = sqlite_store.verify_chain()
    assert not report.ok
    assert "do not link at event 3" in report.problem


def test_the_cli_archives_as_a_lead_with_a_checkpoint_at_the_cut(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    clock = FakeClock(dt.datetime(2025, 1, 6, tzinfo=dt.UTC))
    with Store(db, now=clock) as store:
        a_month_of_decisions(store, clock)
    key = tmp_path / "dana.key"
    made = run("keygen", "dana", "-o", str(key))
    verifier = made.stdout.strip().rsplit(" ", 1)[1]
    config = tmp_path / "signoff.toml"
    config.write_text('leads = ["dana"]\n[retention]\nminimum_days = 200\n')
    base = ("--db", str(db), "--config", str(config))
    out = tmp_path / "old.jsonl"
    one_line_error(run("archive", "--before", "2025-01-10", "-o", str(out), "--reviewer", "bob",
                       *base), 2, contains="bob is not a lead")  # fmt: skip
    one_line_error(run("archive", "--before", "2025-01-10", "-o", str(out), "--reviewer", "dana",
                       *base), 2, contains="events 1 to 4 leave the database")  # fmt: skip
    moved = run("archive", "--before", "2025-01-10", "-o", str(out), "--key", str(key),
                "--reviewer", "dana", "--yes", *base)  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith(f"4 events archived → {out} (events through 4;")
    checked = run("verify", "--manifest", f"{out}.manifest.json", *base)
    assert checked.returncode == 0, checked.stderr
    cut = run("verify", "--checkpoint", f"{out}.checkpoint", "--verifier", verifier, *base)
    assert "extends the checkpoint of 4 events" in cut.stdout, cut.stderr
    assert run("verify", *base).stdout.startswith("ok: 10 events")


def test_archive_itself_refuses_a_cut_that_splits_what_still_refers_back(
    sqlite_store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    seqs = a_month_of_decisions(sqlite_store, clock)
    sqlite_store.retract(seqs[4], "alice", "Escalated this one by mistake, taking it back")
    clock.advance(days=200)
    with pytest.raises(StoreError, match=f"event {seqs[4]} cannot be the cut"):
        archive(sqlite_store, seqs[4], tmp_path / "a.jsonl", "dana")
    assert not (tmp_path / "a.jsonl").exists()
    assert cuts(sqlite_store.conn) == []
