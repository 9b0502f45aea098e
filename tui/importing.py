"""`signoff import`: read files, store good records in batches, report bad ones by line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from providers.base import Stakes
from providers.files import Rejected, format_for
from store import BatchSummary, Planting, Store
from tui.import_reader import ImportPlan, ReadSpec, chunks
from tui.safe import safe_text, visible

BATCH_SIZE = 500
"""Records per transaction: ~40 ms of write lock each (2,000 held it long enough for
reviewers' decisions to queue behind it), and a crash loses at most one batch."""
MAX_SHOWN_ERRORS = 50
"""Rejections printed per file; the summary always has the full count."""


@dataclass
class FileResult:
    """What importing one file did."""

    name: str
    summary: BatchSummary = field(default_factory=BatchSummary)
    rejected: list[Rejected] = field(default_factory=list)


def plan(files: list[str], source: str | None) -> list[ImportPlan]:
    """Check every argument before anything is stored; raises ValueError on the first bad one."""
    plans = []
    for arg in files:
        fmt = format_for(arg)  # UnknownFormatError is a ValueError
        if arg != "-":
            path = Path(arg)
            if not path.is_file():
                raise ValueError(f"{arg}: no such file")
        default_source = source or ("stdin" if arg == "-" else Path(arg).stem)
        plans.append(ImportPlan(arg, fmt, default_source))
    return plans


def import_file(
    store: Store,
    item: ImportPlan,
    *,
    stakes: Stakes,
    on_progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    planting: Planting | None = None,
) -> FileResult:
    """Import one file; each batch commits on its own, so an interrupt keeps what was stored.

    A large file is read by a second process while this one writes (`tui.import_reader`).
    With `planting`, each batch's share of catch trials goes in with it
    (`Store.ingest_planting`).

    Raises:
        OSError: The file could not be read (batches before it stay stored).
        ReaderError: The reading process stopped without finishing.
    """
    result = FileResult(item.arg)
    spec = ReadSpec(item, stakes, batch_size)
    with store.bulk(), chunks(spec, on_progress) as read:
        for chunk in read:
            result.rejected += chunk.rejected
            if chunk.rows and planting is not None:
                result.summary += store.ingest_planting(chunk.rows, planting)
            elif chunk.rows:
                result.summary += store.ingest_prepared(chunk.rows)
    return result


@contextmanager
def progress_bar(console: Console, item: ImportPlan) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar on stderr for a file of known size; nothing when not a TTY."""
    size = 0 if item.arg == "-" else Path(item.arg).stat().st_size
    if not console.is_terminal or size < 1_000_000:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(visible(Path(item.arg).name), total=size)
        last = 0

        def update(done: int) -> None:
            nonlocal last
            if done - last >= 256 * 1024 or done >= size:  # repainting per line is slow
                last = done
                bar.update(task, completed=done)

        yield update


def report(out: Console, err: Console, result: FileResult) -> None:
    """Print the file's rejections (file:line: reason) on stderr and its summary on stdout."""
    for rejected in result.rejected[:MAX_SHOWN_ERRORS]:
        err.print(safe_text(f"{result.name}:{rejected.line}: {rejected.reason}"))
    hidden = len(result.rejected) - MAX_SHOWN_ERRORS
    if hidden > 0:
        err.print(safe_text(f"{result.name}: … and {hidden:,} more rejected records"))
    out.print(safe_text(f"{result.name}: {describe(result.summary, len(result.rejected))}"))


def describe(summary: BatchSummary, rejected: int) -> str:
    """`12 added, 0 updated, 3 unchanged, 0 skipped, 1 rejected`."""
    return (
        f"{summary.added:,} added, {summary.updated:,} updated, {summary.unchanged:,} unchanged, "
        f"{summary.skipped:,} skipped, {rejected:,} rejected"
    )
