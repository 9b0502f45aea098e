"""`make bench`: signoff's figures against yardsticks measured in the same run.

    python bench/run.py [--size 1000000] [--rounds 3] [--out bench/results]

Generates its own data (seed 7). Each pair runs ours, then the yardstick, alternating
for several rounds; the table shows medians with min-max, the ratio and the goal.
Results are also written as JSON so they can be compared between commits.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.first_item import first_row_seconds
from bench.rows import more_rows
from bench.table import Row, alternate, med, print_table
from bench.team import team_rows
from providers.files import Parsed, read_records
from store import Store
from store.clock import iso
from store.codec import GENESIS_HASH
from store.db import checkpoint_wal
from store.export import ExportFilter
from store.ledger import event_hash
from store.views import PageRequest, QueueFilter, page
from store.writers import write_csv


def make_jsonl(path: Path, n: int) -> None:
    """N deterministic draft records (seed 7)."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(json.dumps({
                "id": f"T-{i}", "draft": f"Hello, about order {i}: we issued a refund.",
                "title": f"Ticket {i}", "confidence": round(rng.random(), 3),
                "stakes": rng.choice(("low", "medium", "high")),
                "data_limits": ["stale record"] if i % 3 == 0 else [],
            }) + "\n")  # fmt: skip


def ingest_ours(jsonl: Path, db: Path) -> float:
    """Records/s through signoff's reader, validation and batched ingest."""
    start = time.perf_counter()
    with Store(db) as store, jsonl.open("rb") as stream:
        batch = []
        for result in read_records(stream, "jsonl", default_source="bench"):
            if isinstance(result, Parsed):
                batch.append(result.draft)
                if len(batch) == 2000:
                    store.ingest(batch)
                    batch = []
        if batch:
            store.ingest(batch)
    return sum(1 for _ in jsonl.open()) / (time.perf_counter() - start)


def ingest_raw(jsonl: Path, db: Path) -> float:
    """The yardstick: json.loads + INSERT OR IGNORE executemany, one transaction, WAL."""
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (source TEXT, id TEXT, draft TEXT, title TEXT, "
                 "confidence REAL, stakes TEXT, limits TEXT, UNIQUE (source, id))")  # fmt: skip
    rows = []
    with jsonl.open(encoding="utf-8") as stream:
        for line in stream:
            r = json.loads(line)
            rows.append(("bench", r["id"], r["draft"], r["title"], r["confidence"], r["stakes"],
                         json.dumps(r["data_limits"])))  # fmt: skip
    conn.execute("BEGIN")
    conn.executemany("INSERT OR IGNORE INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()
    return len(rows) / (time.perf_counter() - start)


def fresh(folder: Path, name: str) -> Path:
    """A database path with no file (or WAL) left from a previous round."""
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def claim_p99(db: Path, claims: int = 300) -> float:
    """p99 ms of claim_next + get_item (each claim is a real write).

    As the app runs it: checkpoints are not taken inside claims (`defer_checkpoints`),
    and the log left by the bulk load is copied back first, outside the timing.
    """
    times = []
    checkpoint_wal(db)
    with Store(db, lease=dt.timedelta(hours=1)) as store:
        store.defer_checkpoints()
        for _ in range(claims):
            start = time.perf_counter()
            claim = store.claim_next("bench")
            assert claim is not None
            store.get_item(claim.item_id)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.quantiles(times, n=100)[98]


def page_ms(db: Path, depth: int, repeats: int = 50) -> float:
    """Median ms for one 50-row keyset page at `depth` rows into the open queue."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT stakes_rank, created_at, id FROM items "
        "WHERE (state = 'pending' OR state = 'claimed') "
        "ORDER BY stakes_rank DESC, created_at, id LIMIT 1 OFFSET ?",
        (max(0, depth - 1),),
    ).fetchone()  # the anchor is found once, outside the timing
    anchor = None if depth == 0 else (rows[0], rows[1], rows[2])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        page(conn, QueueFilter(), PageRequest(after=anchor, limit=50))
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return med(times)


def make_ledger(db: Path, n: int) -> None:
    """N valid, chained events over the first n items, inserted in bulk (bench only)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    items = conn.execute("SELECT id, source, external_id, draft_sha256 FROM items "
                         "ORDER BY id LIMIT ?", (n,)).fetchall()  # fmt: skip
    prev, when = GENESIS_HASH, dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    conn.execute("BEGIN")
    for seq, (item_id, source, ext, sha) in enumerate(items, 1):
        fields = {
            "seq": seq, "item_id": item_id, "source": source, "external_id": ext,
            "claim_id": None, "reviewer": f"rev{seq % 7}", "action": "escalate",
            "justification": f"Checked item {ext} against the source records",
            "output": None, "reason_code": None, "retracts": None, "draft_sha256": sha,
            "shown_confidence": 0.5, "shown_basis": "provider", "shown_limits": "[]",
            "time_on_item_ms": 1000 + seq % 5000, "recorded_at": iso(when), "prev_hash": prev,
        }  # fmt: skip
        fields["hash"] = prev = event_hash(fields)
        # claim_id NULL needs action retract by schema; use a claim row instead.
        claim = conn.execute(
            "INSERT INTO claims (item_id, reviewer, claimed_at, lease_expires_at, ended_at, "
            "end_reason) VALUES (?, ?, ?, ?, ?, 'decided')",
            (item_id, fields["reviewer"], fields["recorded_at"], fields["recorded_at"],
             fields["recorded_at"]),
        ).lastrowid  # fmt: skip
        fields["claim_id"] = claim
        fields["hash"] = prev = event_hash(fields)
        names = list(fields)
        conn.execute(f"INSERT INTO ledger ({', '.join(names)}) VALUES "
                     f"({', '.join('?' * len(names))})", [fields[k] for k in names])  # fmt: skip
        when += dt.timedelta(seconds=1)
    conn.execute("COMMIT")
    conn.close()


def export_ours(db: Path) -> float:
    """Events/s through signoff's CSV writer (formula-safe, joined with items)."""
    conn = sqlite3.connect(db)
    start = time.perf_counter()
    sink = io.StringIO()
    count = write_csv(sink, conn, ExportFilter())
    conn.close()
    return count / (time.perf_counter() - start)


def export_loop(db: Path) -> float:
    """The yardstick: the csv module over a plain ledger cursor."""
    conn = sqlite3.connect(db)
    start = time.perf_counter()
    writer = csv.writer(io.StringIO())
    count = 0
    for row in conn.execute("SELECT * FROM ledger ORDER BY seq"):
        writer.writerow(row)
        count += 1
    conn.close()
    return count / (time.perf_counter() - start)


MINIMAL_APP = (
    "from textual.app import App\nfrom textual.widgets import Static\n"
    "class A(App):\n    def compose(self):\n        yield Static('FIRST-ROW-MARKER')\nA().run()\n"
)


def main() -> None:
    """Run every pair and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    n, rounds = args.size, args.rounds
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jsonl = folder / "items.jsonl"
        make_jsonl(jsonl, n)
        print(f"data: {n:,} items", file=sys.stderr)

        ours, raw = alternate(rounds, lambda: ingest_ours(jsonl, fresh(folder, "o.db")),
                              lambda: ingest_raw(jsonl, fresh(folder, "r.db")))  # fmt: skip
        ratio = med(ours) / med(raw)
        rows.append(Row("ingest (records/s)", ours, raw, "rec/s", "≥ 0.7", ratio, ratio >= 0.7))
        big = folder / "o.db"
        again = [ingest_ours(jsonl, big) for _ in range(rounds)]
        ratio = med(again) / med(ours)
        rows.append(Row("re-import unchanged vs fresh ingest", again, ours, "rec/s", "≥ 1.0",
                        ratio, ratio >= 1.0))  # fmt: skip

        small_jsonl = folder / "small.jsonl"
        make_jsonl(small_jsonl, 1000)
        small = fresh(folder, "small.db")
        ingest_ours(small_jsonl, small)
        at_n = [claim_p99(big) for _ in range(rounds)]
        at_1k = [claim_p99(small, claims=200) for _ in range(rounds)]
        ratio = med(at_n) / med(at_1k)
        rows.append(Row(f"claim+fetch p99 at {n:,} vs 1k (ms)", at_n, at_1k, "ms",
                        "≤ 1.2 and ≤ 1 ms", ratio, ratio <= 1.2 and med(at_n) <= 1.0))  # fmt: skip

        deep, top = alternate(rounds, lambda: page_ms(big, n // 2), lambda: page_ms(big, 0))
        ratio = med(deep) / med(top)
        rows.append(Row(f"queue page at depth {n // 2:,} vs top (ms)", deep, top, "ms", "≤ 2",
                        ratio, ratio <= 2))  # fmt: skip

        make_ledger(big, min(n, 1_000_000))
        mine, loop = alternate(rounds, lambda: export_ours(big), lambda: export_loop(big))
        ratio = med(mine) / med(loop)
        rows.append(Row("CSV export (events/s) vs csv loop", mine, loop, "ev/s", "≥ 0.5",
                        ratio, ratio >= 0.5))  # fmt: skip

        app_file = folder / "minimal.py"
        app_file.write_text(MINIMAL_APP)
        start_big, start_min = [], []
        for _ in range(rounds):
            start_big.append(first_row_seconds(str(big), b"T-"))
            start_min.append(_first_marker(app_file))
        ratio = med(start_big) / med(start_min)
        rows.append(Row(f"start to first row at {n:,} vs minimal Textual app (s)", start_big,
                        start_min, "s", "≤ 1.5", ratio, ratio <= 1.5))  # fmt: skip
        start_small = [first_row_seconds(str(small), b"T-") for _ in range(rounds)]
        ratio = med(start_big) / med(start_small)
        rows.append(Row(f"start to first row at {n:,} vs at 1k (s)", start_big, start_small,
                        "s", "≤ 1.2", ratio, ratio <= 1.2))  # fmt: skip
        rows += more_rows(folder, big, small, n, rounds)
        rows += team_rows(2000, rounds)

    print_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = args.out / f"bench-{stamp}.json"
    target.write_text(json.dumps({"size": n, "rounds": rounds, "rows": [asdict(r) for r in rows]},
                                 indent=2))  # fmt: skip
    print(f"\nwritten: {target}")


def _first_marker(script: Path) -> float:
    import fcntl
    import pty
    import select
    import signal
    import struct
    import subprocess
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(script)], stdin=slave, stdout=slave,
                               stderr=slave, start_new_session=True,
                               env={**os.environ, "TERM": "xterm-256color"})  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - start < 30:
            if select.select([master], [], [], 0.01)[0]:
                seen += os.read(master, 65536)
                if b"FIRST-ROW-MARKER" in seen:
                    return time.perf_counter() - start
        raise TimeoutError("the minimal app never drew")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)


if __name__ == "__main__":
    main()
