"""Run a provider: fetch its jobs concurrently and store the drafts in committed batches.

Re-pulling never duplicates: jobs whose `(source, external id)` is already queued are
skipped (unless `refresh`), and a batch is committed before the next one starts, so an
interrupted pull keeps what it committed and fetches the rest next time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from providers.adapter import Job, JobProvider, ListingProvider, Provider
from providers.base import Draft
from providers.http import ProviderError, redact
from store import BatchSummary, Store


@dataclass
class PullSummary:
    """What a pull did."""

    provider: str
    jobs: int = 0
    """Records the provider offered."""
    skipped: int = 0
    """Already in the queue (not fetched again)."""
    fetched: int = 0
    failed: int = 0
    rejected: int = 0
    """Input records that could not become a job."""
    stored: BatchSummary = field(default_factory=BatchSummary)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Fetched drafts per second."""
        return self.fetched / self.seconds if self.seconds else 0.0


Progress = Callable[[PullSummary], None]


async def pull(
    store: Store,
    provider: Provider,
    *,
    concurrency: int = 4,
    rate_per_second: float = 0.0,
    refresh: bool = False,
    dry_run: bool = False,
    limit: int | None = None,
    batch_size: int = 50,
    on_progress: Progress | None = None,
) -> PullSummary:
    """Fetch what is not yet queued, at most `concurrency` at a time, and store it."""
    if isinstance(provider, ListingProvider):
        return await pull_pages(store, provider, dry_run=dry_run, limit=limit,
                                on_progress=on_progress)  # fmt: skip
    assert isinstance(provider, JobProvider)
    summary = PullSummary(provider.name)
    started = time.perf_counter()
    todo: list[Job] = []
    for job in provider.jobs():
        if isinstance(job, str):
            summary.rejected += 1
            summary.errors.append(job)
            continue
        summary.jobs += 1
        if not refresh and store.has_item(provider.source, job.external_id):
            summary.skipped += 1
            continue
        if limit is None or len(todo) < limit:
            todo.append(job)
    if dry_run:
        return summary

    batch: list[Draft] = []
    fetched: list[str] = []
    failures: list[tuple[str, str, str]] = []
    gate = asyncio.Semaphore(max(1, concurrency))
    spacing = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
    next_start = time.monotonic()
    lock = asyncio.Lock()
    secrets = [secret.reveal() for secret in provider.secrets.values()]

    async def run(job: Job) -> None:
        nonlocal next_start
        async with gate:
            if spacing:
                async with lock:  # starts are spaced; calls still overlap
                    wait = next_start - time.monotonic()
                    next_start = max(next_start, time.monotonic()) + spacing
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                draft = await provider.fetch(job)
            except Exception as error:  # whatever one record does, it fails alone
                reason = redact(_reason(error), secrets)
                summary.failed += 1
                where = f"{job.origin} ({job.external_id})"
                summary.errors.append(f"{provider.name}: {where}: {reason}")
                failures.append((job.external_id, job.origin, reason))
                return
            summary.fetched += 1
            batch.append(draft)
            fetched.append(job.external_id)
            if len(batch) >= batch_size:
                flush()
            if on_progress is not None:
                summary.seconds = time.perf_counter() - started
                on_progress(summary)

    def flush() -> None:
        # Synchronous on purpose: the event loop does not switch while a batch commits.
        if batch:
            summary.stored += store.ingest(list(batch))
            batch.clear()
        store.note_pull(provider.name, list(failures), list(fetched))
        failures.clear()
        fetched.clear()

    try:
        async with asyncio.TaskGroup() as group:
            for job in todo:
                group.create_task(run(job))
    finally:
        flush()
        summary.seconds = time.perf_counter() - started
    return summary


def _reason(error: Exception) -> str:
    if isinstance(error, ProviderError):
        return error.detail
    # A shape no adapter expected (an empty `choices`, a number out of range): this
    # record's failure, named, never the whole pull's.
    return f"unexpected {type(error).__name__}: {error}"


async def pull_pages(
    store: Store,
    provider: ListingProvider,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    on_progress: Progress | None = None,
) -> PullSummary:
    """Read a listing page by page; the cursor moves only after a page is committed."""
    summary = PullSummary(provider.name)
    started = time.perf_counter()
    try:
        async for page in provider.pages(store.cursor(provider.name)):
            summary.rejected += len(page.rejected)
            summary.errors.extend(page.rejected)
            summary.jobs += len(page.drafts)
            if not dry_run:
                summary.stored += store.ingest(page.drafts)
                store.save_cursor(provider.name, page.cursor)  # after the commit, never before
                summary.fetched += len(page.drafts)
            summary.seconds = time.perf_counter() - started
            if on_progress is not None:
                on_progress(summary)
            if limit is not None and summary.jobs >= limit:
                break
    except ProviderError as error:
        summary.failed += 1
        secrets = [secret.reveal() for secret in provider.secrets.values()]
        summary.errors.append(redact(str(error), secrets))
    summary.seconds = time.perf_counter() - started
    return summary
