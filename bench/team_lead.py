r"""A lead's million on a team database, for `make bench`: stats and the CSV export.

The bench's SQLite queue with its ledger (a million events at the default size) is
copied into a throwaway PostgreSQL cluster with `signoff migrate`, as a team moving to
a shared database would, and measured there against PostgreSQL's own tools in the same
run: stats against one `GROUP BY` pass, the whole-process CSV export against psql's
`\copy` of the ledger. A third row, for context, has the export read through a relay
10 ms away (`bench.relay`): what a lead over a VPN waits for.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.data import SIGNOFF, user_env
from bench.more import NEW_SINCE_KEPT, export_process_s, stats_s
from bench.table import Row, alternate, med, paired

ONE_WAY_MS = 5.0
"""The relay's delay each way: a database 10 ms away."""


def _group_by_s(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        conn.execute(
            "SELECT reviewer, action, count(*) FROM ledger GROUP BY reviewer, action"
        ).fetchall()
        return time.perf_counter() - start


def _psql_copy_s(psql: Path, url: str, out: Path) -> float:
    start = time.perf_counter()
    with out.open("wb") as sink:
        subprocess.run(
            [str(psql), url, "-c",
             "\\copy (SELECT * FROM ledger ORDER BY seq) TO STDOUT WITH CSV HEADER"],
            stdout=sink, check=True, timeout=1800,
        )  # fmt: skip
    return time.perf_counter() - start


def lead_rows(big: Path, folder: Path, rounds: int) -> list[Row]:
    """The team lead's rows (skipped, with a line, without PostgreSQL)."""
    import psycopg

    from bench.relay import delayed
    from tests.pg import cluster, pg_bin

    binaries = pg_bin()
    if binaries is None:
        print("team lead rows skipped: PostgreSQL binaries not installed", file=sys.stderr)
        return []
    psql = binaries / "psql"
    if not psql.exists():
        psql = Path("psql")
    rows = []
    with cluster() as admin:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE lead")
        url = f"{admin.rsplit('/', 1)[0]}/lead"
        print("a lead's million on PostgreSQL: migrate …", file=sys.stderr)
        subprocess.run([SIGNOFF, "migrate", str(big), url], check=True, capture_output=True,
                       env=user_env(folder / "home"), timeout=3600)  # fmt: skip
        with psycopg.connect(url) as conn:
            (events,) = conn.execute("SELECT count(*) FROM ledger").fetchone() or (0,)
        print(f"… {events:,} events; stats, export …", file=sys.stderr)
        mine, one_pass = alternate(rounds, lambda: stats_s(url), lambda: _group_by_s(url))
        ratio = paired(mine, one_pass)
        rows.append(Row(
            f"team ledger stats at {events:,} events ({NEW_SINCE_KEPT:,} new since the "
            "figures kept) vs one GROUP BY pass on PostgreSQL (s)",
            mine, one_pass, "s", "≤ 3", ratio, ratio <= 3,
        ))  # fmt: skip
        mine, one_pass = alternate(rounds, lambda: stats_s(url, fresh=True),
                                   lambda: _group_by_s(url))  # fmt: skip
        ratio = paired(mine, one_pass)
        rows.append(Row(
            "team ledger stats counted from the first event (--fresh) vs one GROUP BY (s)",
            mine, one_pass, "s", "(context)", ratio, True,
        ))  # fmt: skip
        export, copied = alternate(
            rounds,
            lambda: export_process_s(url, folder / "team.csv"),
            lambda: _psql_copy_s(psql, url, folder / "psql.csv"),
        )
        ratio = med(export) / med(copied)
        rows.append(Row(
            "team whole-process CSV export vs psql \\copy of the ledger (s)", export, copied,
            "s", "≤ 3", ratio, ratio <= 3,
        ))  # fmt: skip
        with delayed(url, ONE_WAY_MS) as via:
            far = [export_process_s(via, folder / "far.csv") for _ in range(rounds)]
        ratio = med(far) / med(export)
        rows.append(Row(
            "team CSV export, database 10 ms away vs next door (s)", far, export, "s",
            "(context)", ratio, True,
        ))  # fmt: skip
    return rows
