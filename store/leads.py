"""What leads work from: escalations, assignments, and everyone's progress.

Escalations oldest first, each with why it was escalated; work assigned to reviewers
by filter (served to them first, to no one else); progress per reviewer and per source.
Assigning is not a decision and is not in the ledger.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.clock import iso
from store.errors import StoreError
from store.ledger import EVENT_FIELDS, LedgerMixin, event_from_row
from store.models import Event, Item
from store.queue import ITEM_COLUMNS, check_reviewer, item_from_row
from store.views import QueueFilter, filter_sql

if TYPE_CHECKING:
    from store.agreement import Agreement
    from store.checkpoint import Checkpoint
    from store.db import Connection


@dataclass(frozen=True, slots=True)
class Escalation:
    """An escalated item and the event that escalated it.

    That event is an escalation, or the second of two reviewers who disagreed.
    """

    item: Item
    event: Event
    first: Event | None = None
    """For two reviewers who disagreed: the first one's decision (the lead adjudicates)."""


@dataclass(frozen=True, slots=True)
class ReviewerProgress:
    """One reviewer's work: what waits for them and what they have done."""

    reviewer: str
    assigned: int
    """Pending items assigned to them."""
    done: int
    """Decisions standing (retracted ones left out), escalations included."""
    escalated: int
    """Of `done`, how many they escalated."""
    median_ms: int | None
    """Median time on an item per decision (None: no decisions yet)."""


@dataclass(frozen=True, slots=True)
class SourceProgress:
    """One source's items by state, and how many pending ones are assigned."""

    source: str
    pending: int
    assigned: int
    claimed: int
    decided: int
    escalated: int


class LeadMixin(LedgerMixin):
    """Escalations, assignment and progress; mixed into `store.Store`."""

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
        found = []
        for row in rows:
            event = event_from_row(row[width:])
            pair = (event.oversight or {}).get("two_person") or {}
            first = None
            if pair.get("stage") == 2 and not pair.get("agreed"):
                first = self.event(int(pair["first_seq"]))
            found.append(Escalation(item_from_row(row[:width]), event, first))
        return found

    def assign(
        self, where: QueueFilter, reviewer: str | None, *, by: str, limit: int | None = None
    ) -> int:
        """Assign the pending items `where` matches to `reviewer` (None: to everyone again).

        In review order, up to `limit`. Returns how many changed hands.

        Raises:
            StoreError: `by` is not a lead (only leads assign work).
        """
        if not self.is_lead(by):
            raise StoreError(f"{by} is not a lead: only leads assign work")
        target = None if reviewer is None else check_reviewer(reviewer)
        cap = "" if limit is None else f" LIMIT {int(limit)}"
        with self._immediate() as conn:
            pending = dataclasses.replace(where, status="pending")
            table, clauses, args = filter_sql(pending, conn)
            return int(
                conn.execute(
                    "UPDATE items SET assigned_to = ?, updated_at = ? WHERE id IN ("
                    f"SELECT id FROM {table} WHERE {' AND '.join(clauses)} "
                    f"ORDER BY stakes_rank DESC, created_at, id{cap})",
                    [target, iso(self.now()), *args],
                ).rowcount
            )

    def checkpoint(self, at: int | None = None) -> Checkpoint:
        """This ledger's checkpoint, unsigned: now, or when it was `at` events long."""
        from store.checkpoint import Checkpoint, origin_of
        from store.ledger import chain_head
        from store.register import register_head

        first = self.hash_at(1)
        size, head = chain_head(self.conn)
        if at is not None and at < size:
            found = self.hash_at(at)
            if found is None:
                raise StoreError(f"there is no ledger event {at}")
            size, head = at, found
        register = register_head(self.conn, size)
        return Checkpoint(origin_of(first), size, head, register if register[0] else None)

    def extends(self, checkpoint: Checkpoint) -> str | None:
        """Why this ledger does not extend `checkpoint`, or None if it does.

        It extends it when it is the same ledger (origin) and still holds that event at
        that position with that hash. (The chain from there on is `verify_chain`'s.)
        """
        mine = self.checkpoint()
        if checkpoint.size == 0:
            return None
        if mine.origin != checkpoint.origin:
            return f"it is another ledger ({mine.origin}, not {checkpoint.origin})"
        if mine.size < checkpoint.size:
            return (
                f"it holds {mine.size:,} events, fewer than the {checkpoint.size:,} the "
                "checkpoint saw: it was truncated or rebuilt"
            )
        if self.hash_at(checkpoint.size) != checkpoint.head:
            return (
                f"its event {checkpoint.size:,} is not the one the checkpoint saw: the "
                "ledger was rebuilt"
            )
        if checkpoint.register is not None:
            length, head = checkpoint.register
            row = self.conn.execute("SELECT hash FROM register WHERE seq = ?", (length,)).fetchone()
            if row is None or row[0] != head:
                return (
                    f"its incident register no longer holds entry {length:,} as the "
                    "checkpoint saw it: incidents were removed or rewritten"
                )
        return None

    def agreement(self) -> Agreement:
        """How much reviewers agree on the items two of them decided independently."""
        from store.agreement import agreement, double_reviewed

        return agreement(double_reviewed(self.conn))

    def progress(self) -> tuple[list[ReviewerProgress], list[SourceProgress]]:
        """Per reviewer (by name) and per source: assigned, done, escalated, pending.

        In team mode, a reviewer's login counts what it may read (its own decisions and
        final ones); a lead's counts everyone's.
        """
        return progress_of(self.conn)


def progress_of(conn: Connection) -> tuple[list[ReviewerProgress], list[SourceProgress]]:
    """`LeadMixin.progress` on any connection (a reader's, in a worker thread)."""
    from statistics import median  # here: the review app's start does not need it

    assigned: dict[str, int] = dict(
        conn.execute(
            "SELECT assigned_to, count(*) FROM items WHERE state = 'pending' "
            "AND assigned_to IS NOT NULL GROUP BY assigned_to"
        ).fetchall()
    )
    times: dict[str, list[int]] = {}
    escalated: dict[str, int] = {}
    for reviewer, action, ms in conn.execute(
        "SELECT reviewer, action, time_on_item_ms FROM ledger AS e "
        "WHERE action != 'retract' AND NOT EXISTS "
        "(SELECT 1 FROM ledger AS r WHERE r.retracts = e.seq)"
    ):
        times.setdefault(reviewer, []).append(int(ms))
        if action == "escalate":
            escalated[reviewer] = escalated.get(reviewer, 0) + 1
    people = [
        ReviewerProgress(
            name,
            int(assigned.get(name, 0)),
            len(times.get(name, [])),
            escalated.get(name, 0),
            int(median(times[name])) if times.get(name) else None,
        )
        for name in sorted(set(assigned) | set(times))
    ]
    states: dict[str, dict[str, int]] = {}
    for source, state, n in conn.execute(
        "SELECT source, state, n FROM item_counts WHERE n > 0 ORDER BY source"
    ):
        states.setdefault(source, {})[state] = int(n)
    waiting = dict(
        conn.execute(
            "SELECT source, count(*) FROM items WHERE state = 'pending' "
            "AND assigned_to IS NOT NULL GROUP BY source"
        ).fetchall()
    )
    sources = [
        SourceProgress(source, n.get("pending", 0), int(waiting.get(source, 0)),
                       n.get("claimed", 0), n.get("decided", 0), n.get("escalated", 0))
        for source, n in states.items()
    ]  # fmt: skip
    return people, sources
