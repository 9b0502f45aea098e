"""The second half of the table: keypress, first paint, memory, pulls, export, checkpoints.

Each pair alternates ours and the yardstick, like the first half.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import more
from bench.table import Row, alternate, med


def more_rows(folder: Path, big: Path, small: Path, n: int, rounds: int) -> list[Row]:
    """Measure the remaining pairs on the big and the 1k databases."""
    rows: list[Row] = []
    print("keypress, first paint, memory …", file=sys.stderr)
    ours, bare = alternate(rounds, lambda: more.decision_p99(big), more.bare_key_p99)
    ratio = med(ours) / med(bare)
    rows.append(Row("decision key→commit→next item p99 vs bare key→repaint (ms)", ours, bare,
                    "ms", "≤ 1.5", ratio, ratio <= 1.5))  # fmt: skip

    ours, table = alternate(rounds, lambda: more.queue_first_paint(big), more.datatable_first_paint)
    ratio = med(ours) / med(table)
    rows.append(Row(f"queue first paint at {n:,} vs 1k-row DataTable (s)", ours, table, "s",
                    "≤ 2", ratio, ratio <= 2))  # fmt: skip

    at_n, at_1k = alternate(rounds, lambda: more.peak_rss_mb(big), lambda: more.peak_rss_mb(small))
    extra = med(at_n) - med(at_1k)
    rows.append(Row(f"app peak RSS at {n:,} vs at 1k (MB; ratio)", at_n, at_1k, "MB",
                    "≤ 1k + 20 MB", med(at_n) / med(at_1k), extra <= 20))  # fmt: skip

    print("pulls over loopback …", file=sys.stderr)
    with more.fast_server() as url:
        tags = iter(range(1000))
        mine, httpx_alone = alternate(
            rounds,
            lambda: more.pull_ours(url, folder, 2000, f"r{next(tags)}"),
            lambda: more.pull_bare(url, 2000),
        )
    ratio = med(mine) / med(httpx_alone)
    rows.append(Row("pull at concurrency 8 vs httpx alone (req/s)", mine, httpx_alone, "req/s",
                    "≥ 0.8", ratio, ratio >= 0.8))  # fmt: skip

    print("process export, checkpoints …", file=sys.stderr)
    proc, shell = alternate(
        rounds,
        lambda: more.export_process_s(big, folder / "export.csv"),
        lambda: more.sqlite_shell_s(big, folder / "shell.csv"),
    )
    ratio = med(proc) / med(shell)
    rows.append(Row("whole-process CSV export vs sqlite3 -csv (s)", proc, shell, "s", "≤ 3",
                    ratio, ratio <= 3))  # fmt: skip

    deferred, auto = alternate(
        rounds,
        lambda: more.worst_claim_ms(big, deferred=True),
        lambda: more.worst_claim_ms(big, deferred=False),
    )
    ratio = med(deferred) / med(auto)
    rows.append(Row("worst claim of 2,000: checkpoints in a worker vs in the commit (ms)",
                    deferred, auto, "ms", "≤ 0.5, ≤ 16.7 ms", ratio,
                    ratio <= 0.5 and med(deferred) <= 16.7))  # fmt: skip
    return rows
