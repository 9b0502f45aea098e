"""Frozen dataclasses the store hands out; the UI never sees a raw row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from providers.base import ConfidenceBasis, DataLimit, Stakes
from providers.tokens import TokenProbs

ItemState = Literal["pending", "claimed", "decided", "escalated"]
"""Where an item is: waiting, being reviewed, finished, or handed up."""

Action = Literal["approve", "edit", "override", "reject", "escalate", "retract"]
"""What a ledger event records; `retract` undoes the event it names."""

DECISION_ACTIONS: tuple[Action, ...] = ("approve", "edit", "override", "reject", "escalate")
"""Actions a reviewer takes on a claimed item (retract is separate: it needs no claim)."""

ITEM_STATES: tuple[ItemState, ...] = ("pending", "claimed", "decided", "escalated")


@dataclass(frozen=True, slots=True)
class Item:
    """One draft in the queue, as stored."""

    id: int
    source: str
    external_id: str
    kind: str
    title: str
    input: str
    draft: str
    draft_sha256: str
    confidence: float | None
    """None means unknown (never 0)."""
    confidence_basis: ConfidenceBasis
    data_limits: tuple[DataLimit, ...]
    worst_limit: int
    """0 when no limits were reported, else 1 info, 2 warn, 3 high."""
    model: str
    stakes: Stakes
    created_at: dt.datetime
    imported_at: dt.datetime
    updated_at: dt.datetime
    state: ItemState
    claim_id: int | None
    meta: dict[str, object] = field(default_factory=dict)
    tokens: TokenProbs = ()
    """The model's per-token log-probabilities over `draft` (`providers.tokens`)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A reviewer's lease on one item; decisions are taken through a claim."""

    id: int
    item_id: int
    reviewer: str
    claimed_at: dt.datetime
    lease_expires_at: dt.datetime
    resolves: int | None = None
    """A lead's claim on an escalated item: the ledger event it resolves."""


@dataclass(frozen=True, slots=True)
class Shown:
    """What the reviewer was shown when deciding, as the ledger records it."""

    draft_sha256: str
    confidence: float | None
    confidence_basis: ConfidenceBasis
    limits: tuple[DataLimit, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """One ledger entry."""

    seq: int
    item_id: int
    source: str
    external_id: str
    claim_id: int | None
    reviewer: str
    action: Action
    justification: str
    output: str | None
    """Final text or value: the draft for approve, the edit, or the override value."""
    reason_code: str | None
    retracts: int | None
    """For `retract`: the seq of the event it undoes."""
    shown: Shown
    time_on_item_ms: int
    recorded_at: dt.datetime
    prev_hash: str
    hash: str
    oversight: dict[str, Any] | None = None
    """What oversight applied (commit-first judgement, friction, catch trial, two-person
    stage); None when none did. Hashed with the event when present."""


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What one ingest batch did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    """Already decided, escalated or under review: left as they are."""

    def __add__(self, other: BatchSummary) -> BatchSummary:
        return BatchSummary(
            self.added + other.added,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.skipped + other.skipped,
        )


@dataclass(frozen=True, slots=True)
class SourceCounts:
    """How many items one source has in each state."""

    source: str
    pending: int = 0
    claimed: int = 0
    decided: int = 0
    escalated: int = 0

    @property
    def total(self) -> int:
        """All items of the source."""
        return self.pending + self.claimed + self.decided + self.escalated


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of recomputing the ledger's hash chain."""

    ok: bool
    events: int
    """Events checked."""
    head: str
    """Hash of the last event as stored (the genesis hash for an empty ledger)."""
    first_bad_seq: int | None = None
    affected: int = 0
    """Events from the first bad one to the end, all of which the break puts in doubt."""
    problem: str = ""
