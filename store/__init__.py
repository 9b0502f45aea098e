"""The signoff store: the SQLite queue, claims with leases, and the decision ledger.

Every write in signoff goes through `Store`, so the rules that matter — a
justification for every event, an append-only ledger, one decision per claim —
hold whatever the caller is. This package never imports Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.errors import (
    ClaimError,
    DatabaseBusy,
    DecisionError,
    JustificationRefused,
    QueryInterrupted,
    SchemaError,
    StoreError,
)
from store.ledger import LedgerMixin
from store.models import BatchSummary, ChainReport, Claim, Event, Item, Shown, SourceCounts
from store.oversight import OversightPolicy, Requirements
from store.plants import Planted, PlantMixin
from store.policy import Feedback, JustificationPolicy

if TYPE_CHECKING:
    from store.reader import Reader
    from store.views import PageRequest, QueueFilter, QueueRow


class Store(LedgerMixin, PlantMixin):
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

    def reader(self) -> Reader:
        """A read-only handle for a worker thread (searches, statistics)."""
        from store.reader import Reader

        return Reader(self.path)


__all__ = [
    "BatchSummary",
    "ChainReport",
    "Claim",
    "ClaimError",
    "DatabaseBusy",
    "DecisionError",
    "Event",
    "Feedback",
    "Item",
    "JustificationPolicy",
    "JustificationRefused",
    "OversightPolicy",
    "Planted",
    "QueryInterrupted",
    "Requirements",
    "SchemaError",
    "Shown",
    "SourceCounts",
    "Store",
    "StoreError",
]
