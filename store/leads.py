"""What leads work from: the escalations, oldest first, each with why it was escalated."""

from __future__ import annotations

from dataclasses import dataclass

from store.ledger import EVENT_FIELDS, LedgerMixin, event_from_row
from store.models import Event, Item
from store.queue import ITEM_COLUMNS, item_from_row


@dataclass(frozen=True, slots=True)
class Escalation:
    """An escalated item and the event that escalated it.

    That event is an escalation, or the second of two reviewers who disagreed.
    """

    item: Item
    event: Event


class LeadMixin(LedgerMixin):
    """Escalations; mixed into `store.Store`."""

    def escalations(self) -> list[Escalation]:
        """Every escalated item, the longest-waiting first."""
        items = ", ".join(f"i.{c}" for c in ITEM_COLUMNS)
        events = ", ".join(f"e.{c}" for c in EVENT_FIELDS)
        rows = self.conn.execute(
            f"SELECT {items}, {events} FROM items AS i JOIN ledger AS e "
            "ON e.seq = (SELECT max(seq) FROM ledger WHERE item_id = i.id) "
            "WHERE i.state = 'escalated' ORDER BY e.seq"
        ).fetchall()
        width = len(ITEM_COLUMNS)
        return [Escalation(item_from_row(r[:width]), event_from_row(r[width:])) for r in rows]
