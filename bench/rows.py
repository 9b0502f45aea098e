"""The second half of the table: keypress, first paint, memory, pulls, export, checkpoints.

Each pair alternates ours and the yardstick, like the first half.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import more, reviewer
from bench.data import user_env
from bench.table import Row, alternate, med, paired

DECISIONS = 300
"""Decisions (and bare keys) per round: p99 is then the third largest, not the largest."""
SHORT_ROUNDS = 5
"""At least this many rounds for the pairs that take seconds (pulls, stats, status):
their ratios moved with the machine between runs (stats 2.7-3.7, pulls 0.73-0.84), so
they take more pairs, and the ratio is the median of the pairs' (`bench.table.paired`)."""


def more_rows(
    folder: Path, big: Path, small: Path, n: int, rounds: int, day: int = 1000
) -> list[Row]:
    """Measure the remaining pairs on the big and the 1k databases."""
    rows: list[Row] = []
    print("decisions in a terminal …", file=sys.stderr)
    env = user_env(folder / "home")
    seeds = iter(range(100, 200))
    runs: list[reviewer.Day] = []

    def decisions() -> float:
        runs.append(reviewer.decide(big, DECISIONS, seed=next(seeds), env=env))
        return reviewer.p99(runs[-1].ms[10:])  # the first ten warm the app up

    def bare_keys() -> float:
        return reviewer.p99(reviewer.bare_key(folder, DECISIONS + 10)[10:])

    mine, key = alternate(rounds, decisions, bare_keys)
    ratio = med(mine) / med(key)
    shown = [sum(getattr(r, k) for r in runs) for k in ("commit_first", "notices", "retries")]
    rows.append(Row(f"decision: record key → next item p99 vs bare key → repaint (ms; pty; "
                    f"{shown[0]} commit-first, {shown[1]} notices, {shown[2]} retried)", mine,
                    key, "ms", "≤ 1.5", ratio, ratio <= 1.5,
                    {"ms": [r.ms for r in runs],
                     "notice_at": [[float(i) for i in r.notice_at] for r in runs]}))  # fmt: skip
    modal = [reviewer.p99(reviewer.bare_modal(folder, DECISIONS + 10)[10:]) for _ in range(rounds)]
    ratio = med(mine) / med(modal)
    rows.append(Row("decision p99 vs bare modal Enter → repaint (ms; pty)", mine, modal, "ms",
                    "(context)", ratio, True))  # fmt: skip
    # A key that changes every cell, in the cheapest layout Textual has (one Static): the
    # floor for showing a whole new item, where the bare key repaints one short row.
    screen = [
        reviewer.p99(reviewer.bare_screen(folder, DECISIONS + 10)[10:]) for _ in range(rounds)
    ]
    ratio = med(mine) / med(screen)
    rows.append(Row("decision p99 vs bare whole-screen redraw key → repaint (ms; pty)", mine,
                    screen, "ms", "(context)", ratio, True))  # fmt: skip

    print(f"a day: {day} decisions in one run of the app …", file=sys.stderr)
    whole = reviewer.decide(big, day, rss_at=(10, day), seed=7, env=env)
    early, late = whole.ms[10:60], whole.ms[-50:]
    ratio = max(late) / max(early)
    rows.append(Row(f"worst decision, decisions {day - 49}-{day} vs 11-60 (ms; one run)",
                    late, early, "ms", "≤ 1.2", ratio, ratio <= 1.2))  # fmt: skip
    grown = whole.rss_mb[day] - whole.rss_mb[10]
    rows.append(Row(f"app RSS after {day} decisions vs after 10 (MB; one run)",
                    [whole.rss_mb[day]], [whole.rss_mb[10]], "MB", "≤ +10 MB",
                    whole.rss_mb[day] / whole.rss_mb[10], grown <= 10))  # fmt: skip

    print("first paint, memory …", file=sys.stderr)

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
            max(rounds, SHORT_ROUNDS),
            lambda: more.pull_ours(url, folder, 2000, f"r{next(tags)}"),
            lambda: more.pull_bare(url, 2000),
        )
    ratio = paired(mine, httpx_alone)
    rows.append(Row("pull at concurrency 8 vs httpx alone (req/s)", mine, httpx_alone, "req/s",
                    "≥ 0.8", ratio, ratio >= 0.8))  # fmt: skip

    print("stats, status …", file=sys.stderr)
    mine, one_pass = alternate(max(rounds, SHORT_ROUNDS), lambda: more.stats_s(big),
                               lambda: more.group_by_s(big))  # fmt: skip
    ratio = paired(mine, one_pass)
    rows.append(Row(f"ledger stats ({more.NEW_SINCE_KEPT:,} events new since the figures "
                    "kept) vs one GROUP BY pass over the same ledger (s)", mine, one_pass,
                    "s", "≤ 3", ratio, ratio <= 3))  # fmt: skip
    mine, one_pass = alternate(max(rounds, SHORT_ROUNDS),
                               lambda: more.stats_s(big, fresh=True),
                               lambda: more.group_by_s(big))  # fmt: skip
    ratio = paired(mine, one_pass)
    rows.append(Row("ledger stats counted from the first event (--fresh) vs one GROUP BY (s)",
                    mine, one_pass, "s", "(context)", ratio, True))  # fmt: skip
    at_n, at_1k = alternate(max(rounds, SHORT_ROUNDS), lambda: more.status_process_s(big),
                            lambda: more.status_process_s(small))  # fmt: skip
    ratio = paired(at_n, at_1k)
    rows.append(Row(f"whole-process status at {n:,} items and events vs 1k items (s)", at_n,
                    at_1k, "s", "≤ 1.2", ratio, ratio <= 1.2))  # fmt: skip

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
