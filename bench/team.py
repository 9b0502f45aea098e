"""Team figures for `make bench`: 8 reviewers on one PostgreSQL server, store vs bare loop.

    python bench/team.py [--items 2000] [--rounds 3]

Each reviewer is its own process with its own connection. Ours: `Store.claim_next`
(claims) and `claim_next` + `decide` (decisions), with every rule, the hash chain and
the one-writer lock. The yardstick, on the same server in the same run: the bare
`UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING` loop that job
queues use, and for decisions that claim plus a bare insert of a decision row in the
same transaction (no rules, no chain). The server is a throwaway cluster from the
installed binaries (tests/pg.py), fsync off as in the tests, alike for both sides.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.table import Row, alternate, med, paired, print_table  # noqa: E402

REVIEWERS = 8

_BARE_SCHEMA = """
CREATE TABLE bare_items (id bigserial PRIMARY KEY, rank int NOT NULL, state text NOT NULL,
                         who text);
CREATE INDEX bare_pending ON bare_items (rank DESC, id) WHERE state = 'pending';
CREATE TABLE bare_decisions (id bigserial PRIMARY KEY, item_id bigint NOT NULL,
                             who text NOT NULL, why text NOT NULL);
"""
_BARE_CLAIM = """
UPDATE bare_items SET state = 'claimed', who = %s WHERE id = (
    SELECT id FROM bare_items WHERE state = 'pending' ORDER BY rank DESC, id
    FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id
"""


def worker(url: str, mode: str, name: str, gate: str) -> None:
    """One reviewer process: connect, wait for the gate, work until nothing is pending.

    Both sides connect (ours: import the store and open it) before the gate, as a
    reviewer's session does once a day: the timed window is the work alone. It used to
    hold our eight imports and opens (~0.2 s of CPU each) and the bare side's connects.
    """
    import psycopg

    if mode.startswith("bare"):
        _bare(psycopg.connect(url, autocommit=True), mode, name, gate)
        return
    from store import Store

    with Store(url) as store:
        _wait(gate)
        done = 0
        while (claim := store.claim_next(name)) is not None:
            if mode == "ours-decide":
                store.decide(
                    claim,
                    "escalate",
                    f"{name} sends item number {claim.item_id} to a lead for a look",
                )
            done += 1
    print(done, flush=True)


def _bare(conn: Any, mode: str, name: str, gate: str) -> None:
    with conn:
        _wait(gate)
        done = 0
        while True:
            with conn.transaction():
                row = conn.execute(_BARE_CLAIM, (name,)).fetchone()
                if row is None:
                    break
                if mode == "bare-decide":
                    conn.execute(
                        "INSERT INTO bare_decisions (item_id, who, why) VALUES (%s, %s, %s)",
                        (row[0], name, f"{name} checked item {row[0]}"),
                    )
            done += 1
    print(done, flush=True)


def _wait(gate: str) -> None:
    print("ready", flush=True)
    while not Path(gate).exists():
        time.sleep(0.001)


def run(url: str, mode: str, folder: Path) -> float:
    """Items handled per second by REVIEWERS processes together."""
    gate = folder / f"go-{mode}-{time.monotonic_ns()}"
    procs = [
        subprocess.Popen([sys.executable, __file__, "--worker", url, mode, f"r{n}", str(gate)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        for n in range(REVIEWERS)
    ]  # fmt: skip
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{mode} worker failed: {proc.communicate()[1][-400:]}")
    start = time.perf_counter()
    gate.touch()
    total = 0
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode:
            raise RuntimeError(f"{mode} worker failed: {err[-400:]}")
        total += int(out.split()[-1])
    return total / (time.perf_counter() - start)


def fill(admin_url: str, items: int) -> tuple[str, str]:
    """A fresh signoff database and a fresh bare one, each with `items` pending."""
    import psycopg

    from store import Store
    from tests.conftest import make_draft

    name = f"b{time.monotonic_ns()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}_s")
        admin.execute(f"CREATE DATABASE {name}_b")
    base = admin_url.rsplit("/", 1)[0]
    ours, bare = f"{base}/{name}_s", f"{base}/{name}_b"
    with Store(ours) as store:
        store.ingest([make_draft(f"T-{n}", stakes=("low", "medium", "high")[n % 3])
                      for n in range(items)])  # fmt: skip
    with psycopg.connect(bare, autocommit=True) as conn:
        conn.execute(_BARE_SCHEMA)
        conn.cursor().executemany(
            "INSERT INTO bare_items (rank, state) VALUES (%s, 'pending')",
            [(1 + n % 3,) for n in range(items)],
        )
    return ours, bare


SEARCH_ITEMS = 100_000
"""Items in the team search row: 5,000 ingested by the store, copied in SQL with new ids."""


def search_dbs(admin_url: str, items: int = SEARCH_ITEMS) -> tuple[str, str]:
    """Two signoff databases with `items` pending: signoff's, and one without trigrams.

    Drafts are ingested by the store, then copied with new ids; the second database is
    the first without its trigram index (the yardstick: the plans PostgreSQL had).
    """
    import psycopg

    from store import Store
    from tests.conftest import make_draft

    name = f"s{time.monotonic_ns()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    seed = 5000
    with Store(url) as store:
        store.ingest([make_draft(f"T-{n}", stakes=("low", "medium", "high")[n % 3],
                                 draft=f"Order {n}: refund of {n % 97} EUR issued on day {n % 31}")
                      for n in range(seed)])  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        columns = [row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'items' AND column_name <> 'id' ORDER BY ordinal_position"
        )]  # fmt: skip
        picked = ", ".join(
            "external_id || '-' || copy" if c == "external_id" else c for c in columns
        )
        conn.execute(
            f"INSERT INTO items ({', '.join(columns)}) SELECT {picked} FROM items, "
            f"generate_series(1, {items // seed - 1}) AS copy"
        )
        conn.execute("VACUUM ANALYZE items")  # as autovacuum would: merges GIN pending lists
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}_scan TEMPLATE {name}")
    scan = f"{url}_scan"
    with psycopg.connect(scan, autocommit=True) as conn:
        conn.execute("DROP INDEX items_search")
    return url, scan


def search_p99_ms(url: str, repeats: int = 100) -> float:
    """p99 ms of a no-match search as the queue runs it (a page of 50)."""
    from store import Store
    from store.views import PageRequest, QueueFilter

    where = QueueFilter(search="no such words here")
    with Store(url) as store:
        times = []
        for n in range(10 + repeats):
            start = time.perf_counter()
            store.page(where, PageRequest(limit=50))
            if n >= 10:
                times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[int(len(times) * 0.99) - 1]


def team_rows(items: int, rounds: int) -> list[Row]:
    """The team rows of the bench table (skipped, with a line, without PostgreSQL)."""
    from tests.pg import cluster, pg_bin

    if pg_bin() is None:
        print("team rows skipped: PostgreSQL binaries not installed", file=sys.stderr)
        return []
    rows = []
    with cluster() as admin, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for what, goal_ratio in (("claim", 0.2), ("decide", 0.1)):

            def ours(what: str = what) -> float:
                db, _ = fill(admin, items)
                return run(db, f"ours-{what}", folder)

            def bare(what: str = what) -> float:
                _, db = fill(admin, items)
                return run(db, f"bare-{what}", folder)

            mine, theirs = alternate(rounds, ours, bare)
            ratio = paired(mine, theirs)  # a slow round slows both sides of its pair
            label = "claims" if what == "claim" else "claim + decision"
            rows.append(Row(
                f"team {label}/s, {REVIEWERS} reviewers, vs bare SKIP LOCKED loop", mine,
                theirs, "/s", f"≥ {goal_ratio} and ≥ 100/s", ratio,
                ratio >= goal_ratio and med(mine) >= 100,
            ))  # fmt: skip
        rows.append(app_row(admin, folder, rounds))
        print(f"team search at {SEARCH_ITEMS:,} items …", file=sys.stderr)
        indexed, scan = search_dbs(admin)
        found, scanned = alternate(rounds, lambda: search_p99_ms(indexed),
                                   lambda: search_p99_ms(scan, repeats=20))  # fmt: skip
        rows.append(Row(
            f"team no-match search p99 at {SEARCH_ITEMS:,} items, trigram vs ILIKE scan (ms)",
            found, scanned, "ms", "≤ 100 ms", med(found) / med(scanned), med(found) <= 100,
        ))  # fmt: skip
    return rows


APP_DECISIONS = 40
"""Decisions in the app per round and side; the first ten warm it up."""
ONE_WAY_MS = 5.0
"""The relay's delay each way: a database 10 ms away (a VPN, another site)."""


def app_row(admin_url: str, folder: Path, rounds: int) -> Row:
    """The app on a team database 10 ms away vs next door: record key → next item.

    One queue (2,000 items imported with the default oversight, as `signoff import`
    does), the reviewer of `bench.reviewer.decide` in a terminal, alternately through
    the relay with its delay and with none (so both sides pay the relay's own cost).
    The difference is the round trips a decision and the next item wait for.
    """
    import psycopg

    from bench import reviewer
    from bench.data import ingest_ours, make_jsonl
    from bench.relay import delayed

    name = f"a{time.monotonic_ns()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    jsonl = folder / "app.jsonl"
    make_jsonl(jsonl, 2000)
    ingest_ours(jsonl, url)
    seeds = iter(range(300, 400))
    print("team decisions in a terminal, 10 ms away …", file=sys.stderr)

    def median_ms(one_way_ms: float) -> float:
        with delayed(url, one_way_ms) as via:
            day = reviewer.decide(via, APP_DECISIONS, seed=next(seeds))
        return med(day.ms[10:])

    far, near = alternate(rounds, lambda: median_ms(ONE_WAY_MS), lambda: median_ms(0.0))
    return Row(
        "team decision in the app: record key → next item median, database 10 ms away vs "
        "next door (ms; pty)", far, near, "ms", "(context)", med(far) / med(near), True,
    )  # fmt: skip


def main() -> None:
    """Print the team rows on their own."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print_table(team_rows(args.items, args.rounds))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(*sys.argv[2:6])
    else:
        main()
