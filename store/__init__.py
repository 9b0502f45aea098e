"""The signoff store: the SQLite queue, claims with leases, and the decision ledger.

Every write in signoff goes through `Store`, so the rules that matter — a
justification for every event, an append-only ledger, one decision per claim —
hold whatever the caller is. This package never imports Textual.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from store.ahead import AheadMixin, Decided
from store.errors import (
    ClaimError,
    ConnectionLost,
    DatabaseBusy,
    DecisionError,
    JustificationRefused,
    QueryInterrupted,
    SchemaError,
    StoreError,
)
from store.leads import Escalation, LeadMixin, ReviewerProgress, SourceProgress
from store.models import BatchSummary, ChainReport, Claim, Event, Item, Shown, SourceCounts
from store.oversight import OversightPolicy, Requirements
from store.pg import PgConnection
from store.plants import Planted, Planting, PlantMixin
from store.policy import Feedback, JustificationPolicy
from store.practice import PracticeMixin, PracticeResult
from store.register import Incident, RegisterMixin

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from store.audit import AuditReport
    from store.export import Manifest, Snapshot
    from store.reader import Reader
    from store.stats import Stats
    from store.views import PageRequest, QueueFilter, QueueRow


class Store(AheadMixin, RegisterMixin, LeadMixin, PlantMixin, PracticeMixin):
    """One signoff database: `Store(path, now=clock, policy=policy, oversight=oversight)`.

    Use as a context manager or call `close()`. Without `oversight`, only the
    justification policy applies (no planting, friction or commit-first).
    """

    def __enter__(self) -> Store:
        return self

    def page(self, where: QueueFilter, request: PageRequest) -> list[QueueRow]:
        """A page of the queue in review order (index ranges: fast at any depth)."""
        from store.views import page

        return page(self.conn, where, request)

    def sources(self) -> list[str]:
        """Sources that have items, for the filter menu."""
        from store.views import sources

        return sources(self.conn)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """One read transaction for an export (see `store.export.Snapshot`)."""
        from store.export import Snapshot

        if isinstance(self.conn, PgConnection):
            with self.conn.snapshot() as conn:
                yield Snapshot(conn)
            return
        self.conn.execute("BEGIN")
        try:
            yield Snapshot(self.conn)
        finally:
            self.conn.execute("COMMIT")

    def stats(self, *, fresh: bool = False) -> Stats:
        """Decision statistics over the whole ledger, planted decisions included.

        Counts the events after those an earlier pass kept figures of (`store.stats_kept`);
        `fresh`: every event again.
        """
        from store.export import ledger_stats
        from store.stats_kept import keep_in

        conn = self.conn
        return ledger_stats(conn, lambda write: keep_in(conn, write), fresh=fresh)

    def integrity(self) -> list[str]:
        """What the chain cannot show: guards off, rewritten drafts, a broken register."""
        from store.audit import integrity_problems

        problems = integrity_problems(self.conn)
        register = self.verify_register()
        if not register.ok:
            problems.append(f"incident register broken at entry {register.first_bad_seq}: "
                            f"{register.problem}")  # fmt: skip
        return problems

    def verify_export(self, manifest: Manifest, file: Path, *, workers: int = 1) -> AuditReport:
        """Check an export file against its manifest and the live ledger.

        With `workers` > 1, a long CSV or Markdown export is rendered again in that
        many processes (`store.audit_ranges`).
        """
        from store.audit import verify_export
        from store.chain_split import split_for

        split = split_for(self.url or self.path, workers)
        return verify_export(self.conn, manifest, file, split)

    def backup_to(self, target: Path) -> tuple[str, int]:
        """Copy the live database to `target` (SQLite's online backup).

        Returns the copy's integrity check ("ok") and its ledger events.

        Raises:
            StoreError: SQLite could not write the copy (the message says why), or the
                store is a PostgreSQL database (its backups are the server's: pg_dump).
        """
        import sqlite3

        if isinstance(self.conn, PgConnection):
            raise StoreError(
                f"{self.where} is a PostgreSQL database: back it up with the server's own "
                "tools (pg_dump)"
            )

        try:
            copy = sqlite3.connect(target)
            try:
                self.conn.backup(copy)
                check = copy.execute("PRAGMA integrity_check").fetchone()[0]
                events = copy.execute("SELECT count(*) FROM ledger").fetchone()[0]
            finally:
                copy.close()
        except sqlite3.Error as error:
            raise StoreError(str(error)) from None
        return str(check), int(events)

    def abandon(self) -> None:
        """Roll back a transaction left open by an error (on the way out)."""
        if self.conn.in_transaction:
            self.conn.rollback()

    def reader(self) -> Reader:
        """A read-only handle for a worker thread (searches, statistics)."""
        from store.reader import Reader

        return Reader(self.url or self.path)


__all__ = [
    "BatchSummary",
    "ChainReport",
    "Claim",
    "ClaimError",
    "ConnectionLost",
    "DatabaseBusy",
    "Decided",
    "DecisionError",
    "Escalation",
    "Event",
    "Feedback",
    "Incident",
    "Item",
    "JustificationPolicy",
    "JustificationRefused",
    "OversightPolicy",
    "Planted",
    "Planting",
    "PracticeResult",
    "QueryInterrupted",
    "Requirements",
    "ReviewerProgress",
    "SchemaError",
    "Shown",
    "SourceCounts",
    "SourceProgress",
    "Store",
    "StoreError",
]
