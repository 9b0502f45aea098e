"""Undo: a reviewer takes back their latest decision with a `retract` event.

Nothing is deleted: the retraction is one more event in the chain, with its own
justification, and the item goes back where it was (the queue, or a lead's escalation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.arguments import checked_text, elapsed_ms
from store.clock import iso
from store.dialect import dialect_of
from store.errors import StoreError
from store.ledger import EVENT_COLUMNS, LedgerMixin, event_from_row
from store.models import Event
from store.queue import check_reviewer

if TYPE_CHECKING:
    from store.db import Connection


class RetractMixin(LedgerMixin):
    """Retractions; mixed into `store.Store` (through `RegisterMixin`)."""

    def retract(self, seq: int, reviewer: str, justification: str) -> Event:
        """Undo a decision: append a `retract` event and return the item to the queue.

        Only the item's latest event can be retracted, and only by the reviewer who
        recorded it; the retraction needs its own justification.

        Raises:
            StoreError: When the event cannot be retracted (and why).
            JustificationRefused: The justification broke a policy rule.
            ConnectionLost: The team database could not be reached again (nothing was
                recorded). As for `decide`, a broken connection is retried once, keyed
                by the retracted event (one retraction per event).
        """
        return self._once(lambda: self._retract(seq, reviewer, justification), "retracts", seq)

    def _retract(self, seq: int, reviewer: str, justification: str) -> Event:
        """`retract` without the recovery from a broken connection."""
        reviewer = check_reviewer(reviewer)
        justification = checked_text(justification, "justification")
        with self._immediate() as conn:
            now = self.now()
            target = self._event(conn, seq)
            if target is None:
                raise StoreError(f"there is no ledger event {seq}")
            if target.action == "retract":
                raise StoreError("a retraction cannot itself be retracted")
            if (target.oversight or {}).get("planted"):
                raise StoreError("a catch-trial decision is settled and cannot be undone")
            if target.reviewer != reviewer:
                raise StoreError(
                    f"event {seq} was recorded by {target.reviewer}; only they can retract it"
                )
            latest = conn.execute(
                "SELECT max(seq) FROM ledger WHERE item_id = ?", (target.item_id,)
            ).fetchone()[0]
            if latest != seq:
                raise StoreError(
                    f"event {seq} on {target.external_id} is not its latest; it was already "
                    "retracted or decided again"
                )
            draft = conn.execute(
                "SELECT draft FROM items WHERE id = ?", (target.item_id,)
            ).fetchone()[0]
            self._enforce(conn, reviewer, justification, draft, self.policy.min_chars)
            event = self._append(
                conn,
                item_id=target.item_id,
                source=target.source,
                external_id=target.external_id,
                claim_id=None,
                reviewer=reviewer,
                action="retract",
                justification=justification,
                output=None,
                reason_code=None,
                retracts=seq,
                shown=target.shown,
                time_on_item_ms=elapsed_ms(now - target.recorded_at),
                now=now,
                oversight=None,
                final=True,
            )
            # Taking back a lead's resolution reopens the escalation, not the queue.
            back = "escalated" if (target.oversight or {}).get("resolves") else "pending"
            conn.execute(
                "UPDATE items SET state = ?, updated_at = ? WHERE id = ? "
                "AND state IN ('decided', 'escalated')",
                (back, iso(now), target.item_id),
            )
            _undo_two_person(conn, target)
            return event

    def last_retractable(self, reviewer: str) -> Event | None:
        """The reviewer's most recent decision that undo would retract, if any."""
        planted = dialect_of(self.conn).plant_of_event
        row = self.conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM ledger AS e WHERE reviewer = ? AND action != 'retract' "
            "AND seq = (SELECT max(seq) FROM ledger WHERE item_id = e.item_id) "
            f"AND NOT EXISTS (SELECT 1 FROM {planted}) ORDER BY seq DESC LIMIT 1",
            (reviewer,),
        ).fetchone()
        return None if row is None else event_from_row(row)


def _undo_two_person(conn: Connection, undone: Event) -> None:
    """Retracting a first approval withdraws it; retracting a second reopens the wait."""
    stage = (undone.oversight or {}).get("two_person")
    if not stage:
        return
    if stage.get("stage") == 1:
        conn.execute("DELETE FROM second_reviews WHERE first_seq = ?", (undone.seq,))
    elif stage.get("first_reviewer"):
        conn.execute(
            "INSERT INTO second_reviews (item_id, first_seq, first_reviewer) VALUES (?, ?, ?) "
            "ON CONFLICT (item_id) DO UPDATE SET first_seq = excluded.first_seq, "
            "first_reviewer = excluded.first_reviewer",
            (undone.item_id, stage["first_seq"], stage["first_reviewer"]),
        )
