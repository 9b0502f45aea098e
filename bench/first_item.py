"""Time from launching `signoff review` to the first queue row on screen (real PTY).

    python bench/first_item.py DB [DB ...] [--rounds 5]

Prints the median and range per database. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.terminal import signoff


def first_row_seconds(db: str, marker: bytes) -> float:
    """Start the app in a 110x30 terminal; seconds until `marker` (a row's text) is shown."""
    term = signoff("review", "--db", db, "--reviewer", "bench")
    try:
        return term.wait(lambda t: marker.decode() in t.text()) - term.started
    finally:
        term.close()


def main() -> None:
    """Run each database the given number of rounds and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("dbs", nargs="+")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import sqlite3

    for db in args.dbs:
        conn = sqlite3.connect(db)
        first = conn.execute(
            "SELECT external_id FROM items WHERE state = 'pending' "
            "ORDER BY stakes_rank DESC, created_at, id LIMIT 1"
        ).fetchone()[0]
        count = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        conn.close()
        times = [first_row_seconds(db, first.encode()) for _ in range(args.rounds)]
        print(
            f"{db}: {count:,} items, start to first row median {statistics.median(times):.3f} s "
            f"(min {min(times):.3f}, max {max(times):.3f}, {args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
