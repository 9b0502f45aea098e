"""The signoff store: the SQLite queue, claims with leases, and the decision ledger.

Every write in signoff goes through `Store`, so the rules that matter — a
justification for every event, an append-only ledger, one decision per claim —
hold whatever the caller is. This package never imports Textual.
"""

from __future__ import annotations

from store.errors import (
    ClaimError,
    DatabaseBusy,
    DecisionError,
    JustificationRefused,
    SchemaError,
    StoreError,
)
from store.ledger import LedgerMixin
from store.models import BatchSummary, ChainReport, Claim, Event, Item, Shown, SourceCounts
from store.oversight import OversightPolicy, Requirements
from store.plants import Planted, PlantMixin
from store.policy import Feedback, JustificationPolicy


class Store(LedgerMixin, PlantMixin):
    """One signoff database: `Store(path, now=clock, policy=policy, oversight=oversight)`.

    Use as a context manager or call `close()`. Without `oversight`, only the
    justification policy applies (no planting, friction or commit-first).
    """

    def __enter__(self) -> Store:
        return self


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
    "Requirements",
    "SchemaError",
    "Shown",
    "SourceCounts",
    "Store",
    "StoreError",
]
