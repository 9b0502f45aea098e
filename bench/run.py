"""`make bench`: signoff's figures against yardsticks measured in the same run.

    python bench/run.py [--size 1000000] [--rounds 3] [--out bench/results]

Generates its own data (seed 7) and measures what users run: the built-in oversight
defaults (catch trials, commit-first, friction), the app in a pseudo-terminal read by
a terminal emulator. Each pair alternates ours and the yardstick, the order flipping
every round, with equal samples and a warm-up on both sides; the table shows medians
of the rounds with min-max, the ratio (of the medians; for start-up, pulls, stats,
status and the team's throughput, the median of the pairs' ratios, see
`bench.table.paired`) and the goal. Results are also written as JSON,
with the commit measured, so they can be compared: `python bench/compare.py A.json B.json`
prints runs side by side as the README's table.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import datetime as dt
import io
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import (
    USERS,
    fresh,
    import_process_s,
    ingest_ours,
    ingest_raw,
    make_jsonl,
    make_ledger,
    sqlite_utils_s,
)
from bench.first_item import first_row_seconds
from bench.reviewer import p99
from bench.rows import more_rows
from bench.table import Row, alternate, med, paired, print_table
from bench.team import team_rows
from bench.team_lead import lead_rows
from bench.terminal import Terminal
from store import Store
from store.db import checkpoint_wal
from store.export import ExportFilter
from store.search import like_clause
from store.views import PageRequest, QueueFilter, matching, page
from store.writers import write_csv

STARTS = 15
"""Starts of the app timed per side: one is ~0.3 s, and two runs' ratios must agree."""

WARM_UP = 30
"""Calls made and thrown away before any timed one: a new connection's first reads are cold."""


CLAIMS = 1000
"""Claims timed per round: p99 is the 10th largest (of 300 it was the 3rd, and one
scheduling hiccup moved a round's figure by half: 0.42 against 0.26 ms at 1M)."""


def claim_p99(db: Path, claims: int = CLAIMS) -> float:
    """p99 ms of claim_next + get_item (each claim is a real write), after a warm-up.

    As the app runs it: checkpoints are not taken inside claims (`defer_checkpoints`),
    and the log left by the bulk load is copied back first, outside the timing. Then the
    file is read through (`read_through`), so both sides start with it in memory.
    """
    times = []
    checkpoint_wal(db)
    read_through(db)
    with Store(db, lease=dt.timedelta(hours=1), oversight=USERS) as store:
        store.defer_checkpoints()
        for n in range(WARM_UP + claims):
            start = time.perf_counter()
            claim = store.claim_next("bench")
            assert claim is not None
            store.get_item(claim.item_id)
            if n >= WARM_UP:
                times.append((time.perf_counter() - start) * 1000)
    return p99(times)


def read_through(db: Path) -> None:
    """Read a database file from its first byte to its last, so the OS holds it in memory.

    This machine's kernel pages out file cache left unused for about a minute (a DAMON
    `pageout` scheme: `/sys/kernel/mm/damon/admin/kdamonds/0`; 85 GB paged out in 14 h).
    After the import rows the million's file had lost much of itself (a copy of it, left
    idle, went from 517 to 337 MB in memory in 2.5 minutes) while the 1k queue, copied
    fresh each round, was all there, so each claim at the million could wait for the
    disk for its item's page: the claim row compared cache states, not queue sizes.
    """
    with db.open("rb") as stream:
        while stream.read(1 << 20):
            pass


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


def search_p99(db: Path, *, indexed: bool, repeats: int = 200) -> float:
    """p99 ms of a search that matches nothing, as the queue runs it: a page and the count.

    `indexed=False` is the yardstick: the `LIKE` scan over id, title and draft that the
    search ran before the trigram index (and still runs for terms under 3 letters).
    """
    conn = sqlite3.connect(db)
    term = "no such words here"
    where = QueueFilter(search=term)
    like, args = like_clause(term)
    is_open = "(items.state = 'pending' OR items.state = 'claimed')"
    times = []
    for n in range(WARM_UP + repeats):
        start = time.perf_counter()
        if indexed:
            page(conn, where, PageRequest(limit=50))
            matching(conn, where)
        else:
            conn.execute(
                f"SELECT items.id FROM items WHERE {is_open} AND {like} "
                "ORDER BY stakes_rank DESC, created_at, id LIMIT 50",
                args,
            ).fetchall()
            conn.execute(f"SELECT count(*) FROM items WHERE {is_open} AND {like}",
                         args).fetchone()  # fmt: skip
        if n >= WARM_UP:
            times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return p99(times)


def main() -> None:
    """Run every pair and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--day", type=int, default=1000, help="decisions in the day-long row")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    n, rounds = args.size, args.rounds
    rows: list[Row] = []
    started = time.perf_counter()
    commit = _commit()  # before anything runs: the tree may change while the bench does
    # What users run has its bytecode: pip compiles an installed wheel, and a clone writes
    # it on its first start. A shell with PYTHONDONTWRITEBYTECODE set (this machine's)
    # compiled our modules again at every start: ~45 ms of a ~0.3 s start to first row.
    root = Path(__file__).resolve().parents[1]
    for package in ("tui", "store", "providers", "keymaps"):
        compileall.compile_dir(root / package, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jsonl = folder / "items.jsonl"
        make_jsonl(jsonl, n)
        print(f"data: {n:,} items; ingest …", file=sys.stderr)

        ours, raw = alternate(rounds, lambda: ingest_ours(jsonl, fresh(folder, "o.db")),
                              lambda: ingest_raw(jsonl, fresh(folder, "r.db")))  # fmt: skip
        ratio = med(ours) / med(raw)
        rows.append(Row("ingest with catch trials vs raw executemany, same schema (rec/s)",
                        ours, raw, "rec/s", "≥ 0.7", ratio, ratio >= 0.7))  # fmt: skip
        big = folder / "o.db"
        again = [ingest_ours(jsonl, big) for _ in range(rounds)]
        ratio = med(again) / med(ours)
        rows.append(Row("re-import unchanged vs fresh ingest", again, ours, "rec/s", "≥ 1.0",
                        ratio, ratio >= 1.0))  # fmt: skip
        home = folder / "home"
        proc, tool = alternate(
            rounds,
            lambda: import_process_s(jsonl, fresh(folder, "p.db"), home),
            lambda: sqlite_utils_s(jsonl, fresh(folder, "u.db")),
        )
        ratio = med(tool) / med(proc)  # speed: their seconds over ours
        rows.append(Row("whole-process import vs sqlite-utils insert (s; speed ratio)", proc,
                        tool, "s", "≥ 1.0", ratio, ratio >= 1.0))  # fmt: skip
        fresh(folder, "p.db")
        fresh(folder, "u.db")

        small_jsonl = folder / "small.jsonl"
        make_jsonl(small_jsonl, 1000)
        small = fresh(folder, "small.db")
        ingest_ours(small_jsonl, small)
        print("claims, pages, search …", file=sys.stderr)

        def claim_1k() -> float:
            # A whole 1k queue each round: a round claims 1,030 of its 1,053 items.
            source, copy = sqlite3.connect(small), sqlite3.connect(fresh(folder, "c.db"))
            source.backup(copy)
            source.close()
            copy.close()
            return claim_p99(folder / "c.db")

        at_n, at_1k = alternate(rounds, lambda: claim_p99(big), claim_1k)
        ratio = med(at_n) / med(at_1k)
        rows.append(Row(f"claim+fetch p99 at {n:,} vs 1k (ms)", at_n, at_1k, "ms",
                        "≤ 1.2 and ≤ 1 ms", ratio, ratio <= 1.2 and med(at_n) <= 1.0))  # fmt: skip

        deep, top = alternate(rounds, lambda: page_ms(big, n // 2), lambda: page_ms(big, 0))
        ratio = med(deep) / med(top)
        rows.append(Row(f"queue page at depth {n // 2:,} vs top (ms)", deep, top, "ms", "≤ 2",
                        ratio, ratio <= 2))  # fmt: skip

        found, scan = alternate(rounds, lambda: search_p99(big, indexed=True),
                                lambda: search_p99(big, indexed=False, repeats=20))  # fmt: skip
        ratio = med(found) / med(scan)
        rows.append(Row(f"no-match search p99 at {n:,}, trigram index vs LIKE scan (ms)",
                        found, scan, "ms", "≤ 100 ms", ratio, med(found) <= 100))  # fmt: skip

        print("ledger …", file=sys.stderr)
        make_ledger(big, min(n, 1_000_000))
        mine, loop = alternate(rounds, lambda: export_ours(big), lambda: export_loop(big))
        ratio = med(mine) / med(loop)
        rows.append(Row("CSV export (events/s) vs csv loop", mine, loop, "ev/s", "≥ 0.5",
                        ratio, ratio >= 0.5))  # fmt: skip

        print("start-up …", file=sys.stderr)
        app_file = folder / "minimal.py"
        app_file.write_text(MINIMAL_APP)
        start_big, start_min = alternate(
            STARTS, lambda: first_row_seconds(str(big), b"T-"), lambda: _first_marker(app_file)
        )
        ratio = paired(start_big, start_min)
        rows.append(Row(f"start to first row at {n:,} vs minimal Textual app (s)", start_big,
                        start_min, "s", "≤ 1.5", ratio, ratio <= 1.5))  # fmt: skip
        # Its own samples, alternated with the 1k side (the pair above ran with another).
        start_n, start_small = alternate(
            STARTS, lambda: first_row_seconds(str(big), b"T-"),
            lambda: first_row_seconds(str(small), b"T-"),
        )  # fmt: skip
        ratio = paired(start_n, start_small)
        rows.append(Row(f"start to first row at {n:,} vs at 1k (s)", start_n, start_small,
                        "s", "≤ 1.2", ratio, ratio <= 1.2))  # fmt: skip
        rows += more_rows(folder, big, small, n, rounds, args.day)
        rows += team_rows(2000, rounds)
        rows += lead_rows(big, folder, rounds)

    print_table(rows)
    print(f"\n{n:,} items, {rounds} rounds, {time.perf_counter() - started:.0f} s in all")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = args.out / f"bench-{stamp}.json"
    run = {"size": n, "rounds": rounds, "commit": commit, "rows": [asdict(r) for r in rows]}
    target.write_text(json.dumps(run, indent=2))
    print(f"written: {target}")


MEASURED = ("store", "tui", "providers", "keymaps", "bench", "pyproject.toml")
"""What a result depends on: a change elsewhere (the README) leaves the commit as measured."""


def _commit() -> str:
    """The commit measured, with "+changes" when the measured code differs from it."""
    try:
        head = _git("rev-parse", "--short", "HEAD").strip()
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", *MEASURED)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty.strip() else "")


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def _first_marker(script: Path) -> float:
    """Seconds from starting a minimal Textual app to its text on the screen."""
    term = Terminal([sys.executable, str(script)])
    try:
        return term.wait(lambda t: "FIRST-ROW-MARKER" in t.text()) - term.started
    finally:
        term.close()


if __name__ == "__main__":
    main()
