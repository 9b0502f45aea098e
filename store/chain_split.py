"""Checking a long ledger's chain in several processes at once (`signoff verify`).

Each event's hash is recomputed from its content: the whole `signoff verify` of a
million events took 7.1 s in one process. An event's check needs only its own row and
the hash before it, so ranges of the chain are checked in processes of their own, each
reading its range through a read-only connection of its own (`store.reader.Reader`),
and joined here in order: each range's first event must link to the last hash the
range before it held. Where a range does not hold, or a process fails, the walk goes
on in the caller's process from the end of the last range that held, so a broken
chain is reported in the same words as by one process (`store.chain.verify`).
`in_order` and the processes' one connection (`open_reader`) serve the export checks
too (`store.audit`, `store.audit_ranges`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from store.ledger import chain_head

if TYPE_CHECKING:
    from collections import deque
    from concurrent.futures import Future

    from store.chain import Checked
    from store.db import Connection
    from store.reader import Reader

T = TypeVar("T")

SPLIT_FROM: Final = 200_000
"""Fewer events than this to check, one process does it (starting one costs ~0.2 s)."""
RANGE: Final = 50_000
"""Events a process checks at a time: ~0.7 s, small enough to share the work evenly."""


def processors() -> int:
    """The processors this process may run on (at most 8: the reading does not scale on)."""
    import os

    mine = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return min(8, len(mine) if mine else os.cpu_count() or 1)


@dataclass(frozen=True)
class Split:
    """Where the processes read (the store's file or URL) and how many there are."""

    target: Path | str
    workers: int


def split_for(target: Path | str, workers: int) -> Split | None:
    """A `Split` over `target` if more than one process is asked for, else None."""
    return Split(target, workers) if workers > 1 else None


def held_through(conn: Connection, start: tuple[int, str], split: Split) -> tuple[int, str]:
    """The (position, hash) through which the ranges after `start` held (`start` if none).

    The ranges reach the chain's head as it is now; events added meanwhile, and the
    rest of the chain after a range that did not hold, are the caller's to check.
    """
    head = chain_head(conn)[0]
    # Inside a transaction the other processes would not see what it wrote.
    if split.workers < 2 or head - start[0] < SPLIT_FROM or conn.in_transaction:
        return start
    ranges = [(after, min(after + RANGE, head)) for after in range(start[0], head, RANGE)]
    calls = [(after, through, start[1] if after == start[0] else None) for after, through in ranges]
    reached = start
    results = in_order(_check, calls, split.workers, open_reader, (split.target,))
    try:
        for (_, through), checked in zip(ranges, results, strict=False):
            if checked.problem or checked.linked != reached[1]:
                break
            reached = (through, checked.last)
    except Exception:  # whatever stopped it, the caller's walk goes on from `reached`
        pass
    finally:
        results.close()
    return reached


def in_order(
    work: Callable[..., T], calls: Sequence[tuple[Any, ...]], workers: int,
    initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
) -> Generator[T, None, None]:  # fmt: skip
    """`work(*call)` for each of `calls` in `workers` processes; the results in order.

    A process's error is raised where its result would be. Closed early (or on an
    error), the calls not started are dropped and the running ones waited for.
    `work` and `initializer` must be importable by name (the processes are spawned).
    """
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # spawn, not fork: the caller's connections and threads stay out of the children.
    pool = ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=initializer, initargs=initargs
    )
    waiting: deque[Future[T]] = deque()
    try:
        for call in calls:
            # Two calls a process handed out ahead: results wait here no longer than
            # that (all at once, a million JSONL lines' results held 270 MB).
            while len(waiting) >= 2 * workers:
                yield waiting.popleft().result()
            with _children_ignore_ctrl_c():  # processes start as calls are handed out
                waiting.append(pool.submit(work, *call))
        while waiting:
            yield waiting.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started meanwhile ignore SIGINT from their first instruction.

    Ctrl+C reaches the whole process group: the caller answers it and shuts the
    children down, and none of them prints a traceback on the way (an ignored signal
    stays ignored across `exec`, and Python then installs no handler of its own).
    For those few milliseconds the caller ignores it too.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (the CLI's is)
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


_reader: Reader | None = None
"""A working process's connection, opened once (`open_reader`)."""


def open_reader(target: Path | str) -> None:
    """A working process's initializer: its one read-only connection, for every call."""
    from store.reader import Reader

    global _reader  # one connection a process, for its every call
    _reader = Reader(target)


def reader() -> Reader:
    """The working process's connection (`open_reader`)."""
    assert _reader is not None
    return _reader


def _check(after: int, through: int, linked: str | None) -> Checked:
    return reader().chain_range(after, through, linked)
