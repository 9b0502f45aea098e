"""Exports: round trips through the manifest, tampering is caught, CSV is formula-safe."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from store import Store
from store.export import ExportFilter, Manifest, manifest_path, stats_for
from store.writers import write_csv
from tests.conftest import FakeClock, make_draft
from tests.engines import Explaining, rows_read

if TYPE_CHECKING:
    from store.db import Connection

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '=HYPERLINK("http://evil.example","click"), "quoted"\r\nnew line\x1b[2J'


def decide_some(store: Store, clock: FakeClock, n: int = 6) -> None:
    store.ingest(
        [make_draft(f"T-{i}", draft=f"+{i} refund " + HOSTILE, confidence=i / 10)
         for i in range(n)]
    )  # fmt: skip
    actions = ["approve", "reject", "edit", "approve", "override", "escalate"]
    for i in range(n):
        claim = store.claim_next("alice" if i % 2 else "bob")
        assert claim is not None
        clock.advance(seconds=10 * (i + 1))
        action = actions[i % len(actions)]
        store.decide(
            claim, action,  # type: ignore[arg-type]
            f"-{i} checked against the billing record " + HOSTILE,
            output=f"@value {i}" if action in ("edit", "override") else None,
            reason_code="factual-error" if action in ("reject", "override") else None,
        )  # fmt: skip


def export(db: Path | str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "export", "--db", str(db), "-o", str(out), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def ledger(db_target: Path | str, clock: FakeClock) -> Path | str:
    """Six decisions, on each engine in turn."""
    with Store(db_target, now=clock) as store:
        decide_some(store, clock)
    return db_target


@pytest.fixture
def sqlite_ledger(db_path: Path, clock: FakeClock) -> Path:
    """Six decisions in a SQLite file (for SQLite's own machinery: backup, WAL)."""
    with Store(db_path, now=clock) as store:
        decide_some(store, clock)
    return db_path


def test_the_range_is_the_first_and_last_event_the_filter_matches(ledger: Path | str) -> None:
    with Store(ledger) as store, store.snapshot() as snap:
        assert snap.seq_range(ExportFilter()) == (1, 6)
        assert snap.seq_range(ExportFilter(reviewer="alice")) == (2, 6)  # seq 2, 4, 6
        assert snap.seq_range(ExportFilter(reviewer="bob")) == (1, 5)
        assert snap.seq_range(ExportFilter(reviewer="nobody")) == (None, None)


def audit(db: Path | str, file: Path) -> list[str]:
    with Store(db) as store:
        return store.verify_export(Manifest.read(manifest_path(file)), file).problems


@contextmanager
def connection(db: Path | str) -> Iterator[Connection]:
    """The store's own connection, for the free functions that take one."""
    with Store(db) as store:
        yield store.conn


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "md"])
def test_round_trip_verifies(ledger: Path | str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"log.{fmt}"
    result = export(ledger, out)
    assert result.returncode == 0, result.stderr
    manifest = Manifest.read(manifest_path(out))
    assert (manifest.events, manifest.first_seq, manifest.last_seq) == (6, 1, 6)
    assert audit(ledger, out) == []
    ok = subprocess.run(
        [sys.executable, "-m", "tui", "verify", "--db", str(ledger),
         "--manifest", str(manifest_path(out))],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr


@pytest.mark.slow
def test_a_manifest_that_miscounts_a_csv_export_fails(ledger: Path | str, tmp_path: Path) -> None:
    """The file renders byte for byte, but its manifest no longer says how many it holds."""
    out = tmp_path / "log.csv"
    assert export(ledger, out).returncode == 0
    written = manifest_path(out)
    fields = json.loads(written.read_text(encoding="utf-8"))
    fields["events"] += 1
    written.write_text(json.dumps(fields), encoding="utf-8")
    assert audit(ledger, out) == ["it holds 6 events; the manifest says 7"]


@pytest.mark.slow
def test_tampering_with_a_jsonl_export_is_caught(ledger: Path | str, tmp_path: Path) -> None:
    out = tmp_path / "log.jsonl"
    assert export(ledger, out).returncode == 0
    pristine = out.read_text(encoding="utf-8")
    lines = pristine.splitlines(keepends=True)

    def problems_after(text: str) -> list[str]:
        out.write_text(text, encoding="utf-8")
        return audit(ledger, out)

    edited = pristine.replace('"reviewer":"alice"', '"reviewer":"alicf"', 1)
    found = problems_after(edited)
    assert any("was edited" in p for p in found)
    assert any("SHA-256" in p for p in found)
    removed = problems_after("".join(lines[:2] + lines[3:]))
    assert any("events 3 to 3 are missing" in p for p in removed)
    assert any("holds 5 events; the manifest says 6" in p for p in removed)
    swapped = problems_after("".join([lines[1], lines[0], *lines[2:]]))
    assert any("out of order" in p for p in swapped)
    one_byte = pristine[:100] + ("x" if pristine[100] != "x" else "y") + pristine[101:]
    assert problems_after(one_byte)
    assert problems_after(pristine) == []


@pytest.mark.slow
def test_a_rebuilt_ledger_fails_the_manifest(
    ledger: Path | str, tmp_path: Path, clock: FakeClock
) -> None:
    out = tmp_path / "log.jsonl"
    assert export(ledger, out).returncode == 0
    # Someone rebuilds the database from scratch with a consistent chain of their own.
    rebuilt = tmp_path / "rebuilt.db"
    with Store(rebuilt, now=clock) as store:
        decide_some(store, FakeClock(clock.now.replace(year=2025)))
    assert audit(rebuilt, out)
    assert any("truncated or rebuilt" in p for p in audit(rebuilt, out))


def test_csv_neutralises_formulas_and_round_trips(ledger: Path | str, tmp_path: Path) -> None:
    target = tmp_path / "log.csv"
    with connection(ledger) as conn:
        with target.open("w", encoding="utf-8", newline="") as stream:
            write_csv(stream, conn, ExportFilter())
        stored = [r[0] for r in conn.execute("SELECT justification FROM ledger ORDER BY seq")]
    with target.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["justification"] for r in rows] == ["'" + s for s in stored]  # all start with -
    assert all(r["draft"].startswith("'+") for r in rows)
    assert {r["output"] for r in rows if r["action"] in ("edit", "override")} == {
        "'@value 2",
        "'@value 4",
    }


def test_filters(ledger: Path | str) -> None:
    from store.export import events

    with connection(ledger) as conn:
        assert {e["reviewer"] for e in events(conn, ExportFilter(reviewer="alice"))} == {"alice"}
        assert [e["action"] for e in events(conn, ExportFilter(action="reject"))] == ["reject"]
        assert list(events(conn, ExportFilter(since="2030-01-01T00:00:00.000000Z"))) == []


@pytest.mark.slow
def test_an_interrupted_export_leaves_no_file(db_path: Path, tmp_path: Path) -> None:
    with Store(db_path) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(3000)])
        for i in range(3000):
            claim = store.claim_next("alice")
            assert claim is not None
            store.decide(claim, "approve", f"Checked refund number {i} against billing")
    out = tmp_path / "big.md"
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "export", "--db", str(db_path), "-o", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(tmp_path.glob(".big.md.*.tmp")):
        time.sleep(0.005)
    # The export really was under way when it was killed (a failed start proves nothing).
    assert list(tmp_path.glob(".big.md.*.tmp")), process.communicate(timeout=5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists()
    assert not manifest_path(out).exists()


def test_stats_figures(ledger: Path | str) -> None:
    with connection(ledger) as conn:
        figures = stats_for(conn, ExportFilter())
    assert figures.events == 6
    assert figures.overall.decisions == 6
    bob = figures.reviewers["bob"]  # events 1, 3, 5: approve, edit, override
    assert dict(bob.actions) == {"approve": 1, "edit": 1, "override": 1}
    assert (bob.median_ms, bob.p10_ms) == (30_000, 14_000)
    assert figures.by_band["<0.5"].decisions == 5  # confidences 0.0 .. 0.4
    assert figures.by_band["<0.5"].overridden == 2  # reject (0.1) and override (0.4)
    assert figures.by_band["0.5-0.7"].decisions == 1


@pytest.mark.slow
def test_backup_copies_a_live_wal_database(sqlite_ledger: Path, tmp_path: Path) -> None:
    ledger = sqlite_ledger
    # Keep a writer open with work still in the WAL (not checkpointed) during the backup.
    with Store(ledger) as live:
        live.conn.execute("PRAGMA wal_autocheckpoint = 0")
        live.ingest([make_draft("LATE-1")])
        assert Path(f"{ledger}-wal").stat().st_size > 0
        target = tmp_path / "copy.db"
        result = subprocess.run(
            [sys.executable, "-m", "tui", "backup", str(target), "--db", str(ledger)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "6 ledger events, integrity ok" in result.stdout
        again = subprocess.run(
            [sys.executable, "-m", "tui", "backup", str(target), "--db", str(ledger)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert again.returncode == 2
        assert "--force" in again.stderr
    with Store(target) as copy:
        assert copy.verify_chain().ok
        assert copy.verify_chain().events == 6
        assert copy.find_item("support", "LATE-1") is not None


def test_retracted_decisions_leave_the_figures(db_path: Path, clock: FakeClock) -> None:

    with Store(db_path, now=clock) as store:
        decide_some(store, clock, n=2)  # bob approves (0.0), alice rejects (0.1)
        rejected = next(e for e in store.events() if e.action == "reject")
        store.retract(rejected.seq, "alice", "Rejected the wrong ticket, reopening it")
        figures = stats_for(store.conn, ExportFilter())
    assert figures.reviewers["alice"].actions["reject"] == 0
    assert figures.reviewers["alice"].actions["retract"] == 1
    assert figures.by_band["<0.5"].decisions == 1
    assert figures.by_band["<0.5"].overridden == 0
    assert figures.overall.median_ms == 10_000


def test_live_hashes_are_read_in_windows_and_out_of_order_lines_still_found(
    ledger: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store import audit as audit_module

    monkeypatch.setattr(audit_module._LiveLedger, "WINDOW", 2)  # windows end mid-file
    out = tmp_path / "log.jsonl"
    assert export(ledger, out).returncode == 0
    assert audit(ledger, out) == []
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1], lines[4] = lines[4], lines[1]  # events 5 and 2 swapped: each still genuine
    out.write_text("".join(lines), encoding="utf-8")
    _reseal(out)
    problems = audit(ledger, out)
    assert "line 3: event 3 is out of order (after 5)" in problems, problems
    assert not [p for p in problems if "not in the live ledger" in p], problems
    lines[1] = lines[1].replace('"hash":"', '"hash":"0', 1)  # a hash the ledger never had
    out.write_text("".join(lines), encoding="utf-8")
    _reseal(out)
    assert "line 2: event 5 is not in the live ledger as exported" in audit(ledger, out)


def _reseal(out: Path) -> None:
    """Do what a forger would: recompute the manifest's file hash after an edit."""
    import json as json_module

    from store.export import file_sha256

    path = manifest_path(out)
    data = json_module.loads(path.read_text())
    data["sha256"] = file_sha256(out)
    path.write_text(json_module.dumps(data))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "md"])
def test_an_edited_csv_or_markdown_export_with_a_resealed_manifest_is_caught(
    ledger: Path | str, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"log.{fmt}"
    assert export(ledger, out).returncode == 0
    assert audit(ledger, out) == []
    with out.open(encoding="utf-8", newline="") as stream:
        text = stream.read()
    edited = text.replace("checked against the billing record", "waved through without a look", 1)
    assert edited != text
    # The line the old check named: the first of the file's lines that differs.
    pairs = zip(edited.splitlines(), text.splitlines(), strict=True)
    line = next(n for n, (a, b) in enumerate(pairs, 1) if a != b)
    appended = text + "one more line\n"  # CSV: a row without an event number, read first
    for forged, where in ((edited, line), (appended, len(text.splitlines()) + 1)):
        with out.open("w", encoding="utf-8", newline="") as stream:
            stream.write(forged)
        _reseal(out)
        problems = " ".join(audit(ledger, out))
        assert f"line {where}" in problems, problems
        assert "differs from what the ledger holds" in problems or forged is appended, problems


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "md"])
def test_an_export_that_is_not_utf8_is_a_problem_not_a_crash(
    sqlite_ledger: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"log.{fmt}"
    assert export(sqlite_ledger, out).returncode == 0
    out.write_bytes(out.read_bytes() + b"\xff")  # a byte no UTF-8 text holds
    _reseal(out)
    assert audit(sqlite_ledger, out) == [
        "it is not UTF-8 text: it was edited, or is not a signoff export"
    ]


def test_verify_finds_a_draft_rewritten_after_its_decision_and_a_dropped_guard(
    ledger: Path | str,
) -> None:
    from tests.engines import tamper

    with Store(ledger) as store:
        assert store.integrity() == []
        tamper(store, "SELECT 1")  # as someone with direct access: guards off (SQLite: dropped)
        store.conn.execute("UPDATE items SET draft = 'A kinder draft, written later' "
                           "WHERE external_id = 'T-1'")  # fmt: skip
        problems = store.integrity()
    assert any("support/T-1 is not the one event" in p for p in problems), problems
    if isinstance(ledger, Path):  # SQLite: `tamper` dropped the append-only trigger
        assert (
            "the trigger ledger_no_update is missing: the rule it enforces no longer "
            "holds" in problems
        )
    checked = subprocess.run(
        [sys.executable, "-m", "tui", "verify", "--db", str(ledger)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 1
    assert "rewritten after the decision" in checked.stdout


@pytest.mark.postgres
def test_long_reads_on_postgresql_are_scanned_not_fetched_whole(
    pg_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exports, stats and the chain check read the ledger through a server-side cursor.

    psycopg's ordinary cursor brings a whole result over before the first row: a team
    export of a million events held them all in memory. Any ordered read of the ledger
    without a LIMIT through `execute` fails this test.
    """
    from store.dialect import scan
    from store.pg import PgConnection

    with Store(pg_url, now=clock) as store:
        decide_some(store, clock)
        whole = PgConnection.execute

        def execute(self: PgConnection, sql: str, params: object = ()) -> object:
            long = "FROM ledger" in sql and "ORDER BY" in sql and "LIMIT" not in sql
            assert not long or "e.seq = ?" in sql, f"fetched whole: {sql}"
            return whole(self, sql, params)  # type: ignore[arg-type]

        monkeypatch.setattr(PgConnection, "execute", execute)
        assert store.verify_chain().ok
        assert store.stats().overall.actions["approve"] == 2
        assert [e.seq for e in store.events()] == [1, 2, 3, 4, 5, 6]
        with store.snapshot() as snap:
            for fmt in ("jsonl", "csv", "md"):
                with (tmp_path / f"out.{fmt}").open("w") as stream:
                    assert snap.write(fmt, stream, ExportFilter()) == 6
        conn = store.conn
        assert isinstance(conn, PgConnection)
        with scan(conn, "SELECT seq FROM ledger ORDER BY seq") as cursor:
            assert cursor.fetchmany(2) == [(1,), (2,)]
            # A server cursor is open, and the connection still answers in between.
            assert whole(conn, "SELECT count(*) FROM pg_cursors").fetchone() == (1,)
            assert [row[0] for row in cursor] == [3, 4, 5, 6]
        assert not conn.in_transaction  # the scan's own snapshot ended with it


@pytest.mark.postgres
def test_a_scan_brings_its_rows_over_many_at_a_time_however_it_is_read(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CSV export reads 128 rows at a time, stats 256: each was a round trip.

    A team export of a million events made ~7,800 of them (at 10 ms away, 78 s of
    waiting). Rows now come over `SCAN_ROWS` a round trip, whatever a batch asks.
    """
    import store.pg_rows
    from store.dialect import scan
    from store.pg import PgConnection

    monkeypatch.setattr(store.pg_rows, "SCAN_ROWS", 100)
    fetched: list[int] = []

    class Counted:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

        def fetchmany(self, size: int) -> list[Any]:
            rows: list[Any] = self._cursor.fetchmany(size)
            fetched.append(len(rows))
            return rows

    with Store(pg_url) as opened:
        conn = opened.conn
        assert isinstance(conn, PgConnection)
        raw = conn.raw
        monkeypatch.setattr(raw, "cursor", lambda *a, **k: Counted(type(raw).cursor(raw, *a, **k)))
        with scan(conn, "SELECT g FROM generate_series(1, 1050) AS g") as cursor:
            read = [row[0] for row in cursor.fetchmany(7)]
            while batch := cursor.fetchmany(128):
                read += [row[0] for row in batch]
        assert read == list(range(1, 1051))
        assert fetched == [100] * 10 + [50]


def test_the_live_hashes_are_read_a_window_from_the_index(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`verify --manifest` of a JSONL or a differing CSV reads the live hashes in windows.

    Over a bare `UNION ALL … ORDER BY 1 LIMIT`, PostgreSQL sorted every event from the
    window's start on, for each window: 164 ms a window at a million events, 40 s a check.
    """
    from store import audit
    from store.dialect import dialect_of

    monkeypatch.setattr(audit._LiveLedger, "WINDOW", 16)
    store.ingest([make_draft(f"T-{i}") for i in range(400)])
    while claim := store.claim_next("alice"):
        store.decide(claim, "approve", f"Checked item {claim.item_id} against its bill")
    conn = store.conn
    pg = dialect_of(conn).name == "postgresql"
    if pg:
        conn.execute("ANALYZE")
    explaining = Explaining(conn, lambda sql: True)
    plans = explaining.plans
    # Stands in for the connection: the window only executes.
    live = audit._LiveLedger(cast(Any, explaining))
    hashes = [live.hash_at(seq) for seq in range(100, 140)]
    expected = conn.execute("SELECT hash FROM ledger WHERE seq >= 100 AND seq < 140 ORDER BY seq")
    assert hashes == [row[0] for row in expected.fetchall()]
    assert len(plans) == 3  # 40 hashes, windows of 16
    for plan in plans:
        if pg:
            read = rows_read(plan, "ledger")
            assert read <= 17, read  # the window, not the ~300 events after its start
        else:
            assert "SEARCH ledger USING INTEGER PRIMARY KEY" in plan, plan
