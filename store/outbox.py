"""The outbox: final decisions waiting to be delivered back to their source.

Rows are written in the same transaction as the ledger event (see `LedgerMixin`), so a
decision is never recorded without its delivery, nor delivered without being recorded;
`signoff push` retries with backoff until the receiver answers.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.clock import iso
from store.db import StoreBase
from store.dialect import deferred
from store.models import Event

if TYPE_CHECKING:
    from store.db import Connection


@dataclass(frozen=True, slots=True)
class Delivery:
    """One pending delivery."""

    id: int
    source: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int


def payload_for(event: Event) -> dict[str, Any]:
    """What a receiver gets: the final decision, why, by whom, and the ledger hash."""
    return {
        "event": event.seq,
        "hash": event.hash,
        "source": event.source,
        "id": event.external_id,
        "action": event.action,
        "output": event.output,
        "reason_code": event.reason_code,
        "justification": event.justification,
        "reviewer": event.reviewer,
        "recorded_at": iso(event.recorded_at),
        "retracts": event.retracts,
    }


class OutboxMixin(StoreBase):
    """Outbox operations; mixed into `store.Store`."""

    delivers_for: frozenset[str] = frozenset()
    """Sources whose decisions flow back (set by the caller from the provider config)."""

    def _enqueue(self, conn: Connection, event: Event) -> None:
        if event.source in self.delivers_for:
            deferred(
                conn,
                "INSERT INTO outbox (event_seq, source, idempotency_key, payload, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (event.seq, event.source, event.hash, json.dumps(payload_for(event)),
                 iso(event.recorded_at)),
            )  # fmt: skip

    def due(self, limit: int = 100) -> list[Delivery]:
        """Deliveries whose next attempt is due, oldest first."""
        rows = self.conn.execute(
            "SELECT id, source, idempotency_key, payload, attempts FROM outbox "
            "WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (iso(self.now()), limit),
        ).fetchall()
        return [Delivery(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def delivered(self, delivery: Delivery) -> None:
        """Mark delivered (the receiver answered 2xx)."""
        with self._immediate() as conn:
            conn.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL "
                "WHERE id = ?",
                (iso(self.now()), delivery.id),
            )

    def failed(self, delivery: Delivery, error: str, *, cap: float = 3600.0) -> None:
        """Record a failed attempt; the next is due after exponential backoff (capped)."""
        delay = min(cap, 30.0 * 2**delivery.attempts)
        when = self.now() + dt.timedelta(seconds=delay)
        with self._immediate() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE id = ?",
                (iso(when), error[:500], delivery.id),
            )

    def backlog(self) -> tuple[int, str | None]:
        """Undelivered count and the oldest undelivered event's time."""
        row = self.conn.execute(
            "SELECT count(*), min(l.recorded_at) FROM outbox AS o JOIN ledger AS l "
            "ON l.seq = o.event_seq WHERE o.delivered_at IS NULL"
        ).fetchone()
        return int(row[0]), row[1]

    def cursor(self, provider: str) -> str | None:
        """The provider's saved paging cursor."""
        row = self.conn.execute(
            "SELECT cursor FROM provider_state WHERE provider = ?", (provider,)
        ).fetchone()
        return None if row is None else row[0]

    def save_cursor(self, provider: str, cursor: str | None) -> None:
        """Remember where the provider's listing got to (only after its batch committed)."""
        with self._immediate() as conn:
            conn.execute(
                "INSERT INTO provider_state (provider, cursor, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (provider) DO UPDATE SET cursor = excluded.cursor, "
                "updated_at = excluded.updated_at",
                (provider, cursor, iso(self.now())),
            )

    def note_pull(
        self, provider: str, failed: list[tuple[str, str, str]], succeeded: list[str]
    ) -> None:
        """Remember the records a pull could not fetch until a later pull fetches them.

        Args:
            provider: The provider's name.
            failed: (external id, origin such as `tickets.jsonl:12`, reason) of each.
            succeeded: External ids fetched this time (their old failures are cleared).
        """
        if not failed and not succeeded:
            return
        stamp = iso(self.now())
        with self._immediate(durable=False) as conn:
            conn.executemany(
                "DELETE FROM pull_failures WHERE provider = ? AND external_id = ?",
                [(provider, external_id) for external_id in succeeded],
            )
            conn.executemany(
                "INSERT INTO pull_failures (provider, external_id, origin, reason, failed_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, external_id) DO UPDATE SET "
                "origin = excluded.origin, reason = excluded.reason, "
                "failed_at = excluded.failed_at",
                [(provider, ext, origin, reason, stamp) for ext, origin, reason in failed],
            )

    def pull_failures(self) -> list[PullFailures]:
        """Per provider: records still failing, and the newest failure's place and reason."""
        rows = self.conn.execute(
            "SELECT provider, count(*), max(failed_at) FROM pull_failures GROUP BY provider "
            "ORDER BY provider"
        ).fetchall()
        found = []
        for provider, count, last in rows:
            origin, reason = self.conn.execute(
                "SELECT origin, reason FROM pull_failures WHERE provider = ? "
                "ORDER BY failed_at DESC, external_id LIMIT 1",
                (provider,),
            ).fetchone()
            found.append(PullFailures(provider, int(count), origin, reason, last))
        return found


@dataclass(frozen=True, slots=True)
class PullFailures:
    """Records of one provider that no pull has fetched yet."""

    provider: str
    records: int
    last_origin: str
    """`tickets.jsonl:12` of the newest failure."""
    last_reason: str
    last_at: str
