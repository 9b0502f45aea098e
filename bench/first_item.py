"""Time from launching `signoff review` to the first queue row on screen (real PTY).

    python bench/first_item.py DB [DB ...] [--rounds 5]

Prints the median and range per database. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time


def first_row_seconds(db: str, marker: bytes) -> float:
    """Spawn the app in a 110x30 PTY; seconds until `marker` (a row's text) is written."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "review", "--db", db, "--reviewer", "bench"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - start < 30:
            ready, _, _ = select.select([master], [], [], 0.01)
            if ready:
                seen += os.read(master, 65536)
                if marker in seen:
                    return time.perf_counter() - start
        raise TimeoutError(f"{marker!r} never appeared")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)


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
