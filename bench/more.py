"""The rest of `make bench`: first paint, memory, pulls, export, checkpoints.

The app's first paint (headless), its memory, pulls over loopback, the whole-process
export, and the worst claim while the WAL is checkpointed. Decisions are timed in a real
terminal: `bench/reviewer.py`.

Each function measures one side of a pair; `bench/run.py` alternates and tabulates.
`python bench/more.py rss DB` is the child process the memory figure runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from bench.data import SIGNOFF
from keymaps import load_keymap
from store import Store
from store.clock import utc_now
from store.db import checkpoint_wal
from tui.app import SignoffApp
from tui.widgets.queue_list import QueueList

SIZE = (110, 30)


def _app(store: Store) -> SignoffApp:
    return SignoffApp(store, reviewer="bench", keymap=load_keymap("default"), now=utc_now,
                      db_label="bench")  # fmt: skip


# --- queue first paint vs a 1k-row DataTable ---------------------------------------


async def _first_paint(db: Path) -> float:
    with Store(db) as store:
        app = _app(store)
        start = time.perf_counter()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.screen.query_one(QueueList).rows, "no rows painted"
            return time.perf_counter() - start


def queue_first_paint(db: Path) -> float:
    """Seconds from starting the app (headless) to the queue's first rows on screen."""
    return asyncio.run(_first_paint(db))


class _Table(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("risk", "confidence", "limit", "source", "kind", "item", "age")
        table.add_rows([("HIGH", "0.91", "warn", "bench", "draft", f"T-{i} Ticket {i}", "5m")
                        for i in range(1000)])  # fmt: skip


async def _table_paint() -> float:
    start = time.perf_counter()
    async with _Table().run_test(size=SIZE) as pilot:
        await pilot.pause()
    return time.perf_counter() - start


def datatable_first_paint() -> float:
    """The yardstick: a 1,000-row DataTable app, started and painted the same way."""
    return asyncio.run(_table_paint())


# --- memory -------------------------------------------------------------------------


async def _browse(db: Path) -> None:
    with Store(db) as store:
        app = _app(store)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for _ in range(20):
                await pilot.press("pagedown")
            await pilot.press("end")
            await pilot.pause()
            await pilot.press("home", "/")
            for key in "ticket 99":
                await pilot.press(key)
            await pilot.press("enter")  # the search runs and its page is drawn
            await pilot.pause(1.0)


def peak_rss_mb(db: Path) -> float:
    """Peak RSS (MB) of a child process that opens the app on `db` and pages around."""
    out = subprocess.run([sys.executable, __file__, "rss", str(db)], check=True,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


# --- pulls over loopback --------------------------------------------------------------


@contextlib.contextmanager
def fast_server() -> Iterator[str]:
    """`bench/fast_server.py` in its own process; yields its base URL."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fast_server.py")),
                                   str(port_file)])  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline:
                    raise TimeoutError("the loopback server did not start")
                time.sleep(0.02)
            yield f"http://127.0.0.1:{port_file.read_text()}"
        finally:
            server.kill()
            server.wait()


def pull_ours(url: str, folder: Path, n: int, tag: str, concurrency: int = 8) -> float:
    """Pulls/s through the openai adapter, parsing, limits and the store (new ids each call)."""
    from store.pull import pull
    from tui.config import load_settings
    from tui.pulling import build

    (folder / f"in-{tag}.jsonl").write_text(
        "".join(json.dumps({"id": f"P-{tag}-{i}", "text": "hi"}) + "\n" for i in range(n)),
        encoding="utf-8",
    )
    (folder / "p.md").write_text("{text}", encoding="utf-8")
    config = folder / f"c-{tag}.toml"
    config.write_text(
        f'[providers.b]\ntype = "openai"\nbase_url = "{url}/v1"\nmodel = "m"\n'
        f'inputs = "in-{tag}.jsonl"\nprompt = "p.md"\n',
        encoding="utf-8",
    )
    provider = build("b", load_settings(config, default=config), env={})

    async def run() -> float:
        with Store(folder / "pulls.db") as store:
            summary = await pull(store, provider, concurrency=concurrency)
        await provider.http.close()
        assert summary.fetched == n, summary.errors[:3]
        return summary.rate

    return asyncio.run(run())


def pull_bare(url: str, n: int, concurrency: int = 8) -> float:
    """The yardstick: httpx.AsyncClient alone, same requests and concurrency."""
    import httpx

    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "logprobs": True}

    async def run() -> float:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient() as client:

            async def one() -> None:
                async with gate:
                    (await client.post(f"{url}/v1/chat/completions", json=body)).json()

            start = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(n)))
            return n / (time.perf_counter() - start)

    return asyncio.run(run())


# --- whole-process CSV export vs the sqlite3 shell -------------------------------------


NEW_SINCE_KEPT = 10_000
"""Events decided since the figures a lead's last look kept (a team's day or more)."""
_KEPT_WRITES: dict[str, Any] = {}


def stats_s(db: Path | str, *, fresh: bool = False) -> float:
    """Seconds for the whole ledger's statistics (`signoff stats` and the Stats screen).

    As a lead gets them day to day: the figures an earlier pass kept reach all but the
    last `NEW_SINCE_KEPT` events (put back before each round, untimed), which this pass
    counts. `fresh`: every event counted (`--fresh`, or the first pass), and kept.
    """
    from store import stats_kept
    from store.export import ExportFilter, stats_for
    from store.stats import Tally

    with Store(db) as store:
        if not fresh:
            write = _KEPT_WRITES.get(str(db))
            if write is None:
                (last,) = store.conn.execute("SELECT max(seq) FROM ledger").fetchone()
                tally: Any = Tally()
                looked: dict[int, Any] = {}
                through = ExportFilter(include_planted=True, through_seq=last - NEW_SINCE_KEPT)
                stats_for(store.conn, through, tally=tally, looked=looked)
                write = _KEPT_WRITES[str(db)] = stats_kept.writer(
                    stats_kept.read(store.conn) or stats_kept.Kept(0), tally, looked
                )
            stats_kept.keep_in(store.conn, write)
        start = time.perf_counter()
        store.stats(fresh=fresh)
        return time.perf_counter() - start


def group_by_s(db: Path) -> float:
    """Seconds for one aggregate pass over the same ledger: events per reviewer and action."""
    conn = sqlite3.connect(db)
    try:
        start = time.perf_counter()
        conn.execute("SELECT reviewer, action, count(*) FROM ledger GROUP BY reviewer, action"
                     ).fetchall()  # fmt: skip
        return time.perf_counter() - start
    finally:
        conn.close()


def status_process_s(db: Path) -> float:
    """Seconds for `signoff status` as a process (start-up included)."""
    start = time.perf_counter()
    subprocess.run([SIGNOFF, "status", "--db", str(db)], check=True, capture_output=True,
                   timeout=600)  # fmt: skip
    return time.perf_counter() - start


def export_process_s(db: Path | str, out: Path) -> float:
    """Seconds for `signoff export -f csv -o FILE` as a process (start-up included)."""
    start = time.perf_counter()
    # --force: every round writes the same file (an existing export is kept otherwise).
    subprocess.run([SIGNOFF, "export", "-f", "csv", "-o", str(out),
                    "--force", "--db", str(db)], check=True, capture_output=True,
                   timeout=1800)  # fmt: skip
    return time.perf_counter() - start


def sqlite_shell_s(db: Path, out: Path) -> float:
    """The yardstick: the C shell's `.mode csv` dump of the ledger."""
    start = time.perf_counter()
    with out.open("wb") as sink:
        subprocess.run(["sqlite3", "-csv", "-header", str(db), "SELECT * FROM ledger"],
                       stdout=sink, check=True, timeout=1800)  # fmt: skip
    return time.perf_counter() - start


# --- the worst claim while the WAL is checkpointed ------------------------------------


def worst_claim_ms(db: Path, *, deferred: bool, claims: int = 2000) -> float:
    """Max ms of claim+fetch over `claims`.

    Claims come in bursts of 100 with 0.3 s pauses. With `deferred`, the app's
    arrangement: no auto-checkpoint in the claiming connection; a thread copies the log
    back during pauses only.
    """
    stop = threading.Event()
    last = [time.monotonic()]

    def checkpointer() -> None:
        # The app's rule at 10x speed: try every 0.5 s, copy back only after 0.2 s
        # without a claim (the app: every 5 s, after 2 s without a key).
        while not stop.wait(0.5):
            if time.monotonic() - last[0] >= 0.2:
                checkpoint_wal(db)

    checkpoint_wal(db)  # both sides start from the same, empty log
    worst = 0.0
    with Store(db, lease=dt.timedelta(hours=1)) as store:
        thread = threading.Thread(target=checkpointer)
        if deferred:
            store.defer_checkpoints()
            thread.start()
        try:
            store.claim_next("bench-ckpt")  # warm-up: a new connection's first read is cold
            for n in range(claims):
                if n % 100 == 99:
                    time.sleep(0.3)  # a reviewer pauses now and then: checkpoints happen
                start = time.perf_counter()
                claim = store.claim_next("bench-ckpt")
                assert claim is not None
                store.get_item(claim.item_id)
                last[0] = time.monotonic()
                worst = max(worst, (time.perf_counter() - start) * 1000)
        finally:
            stop.set()
            if deferred:
                thread.join()
    return worst


def _peak_mb() -> float:
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child started by a big bench
    # process would report the parent's peak. VmHWM belongs to this program alone.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__" and sys.argv[1:2] == ["rss"]:
    asyncio.run(_browse(Path(sys.argv[2])))
    print(_peak_mb())
    sys.stdout.flush()
    os._exit(0)
