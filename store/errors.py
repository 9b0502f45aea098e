"""Errors the store raises; each message is a sentence a reviewer can act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store refused an operation and changed nothing."""


class JustificationRefused(StoreError):
    """The justification broke a policy rule; `rule` names which one."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        """Stable id of the failed rule, e.g. `too_short` or `repeats`."""


class ClaimError(StoreError):
    """The claim is gone, expired, belongs to someone else, or the item is taken."""


class DecisionError(StoreError):
    """The decision itself is malformed (missing output, reason code, wrong action)."""


class SchemaError(StoreError):
    """The database file is not one signoff can use (newer schema, not SQLite, …)."""


class DatabaseBusy(StoreError):
    """Another process held the write lock for the whole busy timeout; nothing changed."""


def busy_message(holder: str, waited_ms: int) -> str:
    """`DatabaseBusy`'s line: who held the lock, and for how long it was waited for."""
    held = f"kept it for over {waited_ms // 1000} s" if waited_ms >= 1000 else "is writing"
    return f"the database is busy: {holder} {held}; nothing was changed, try again"


class QueryInterrupted(StoreError):
    """A read was stopped by `Reader.interrupt` (a newer request superseded it)."""


class ConnectionLost(StoreError):
    """The team database's connection broke mid-operation (a restart, a dropped link).

    The store has reconnected if it could; what the interrupted step did is unknown to
    the caller unless the store says (a decision checks its claim: `store.ledger`).
    """
