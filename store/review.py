"""What deciding an item takes: the policy table, commit-first judgements, friction.

`requirements` tells the UI how an item must be reviewed; the ledger asks the same
questions inside the decision's transaction and refuses a decision that skips a step.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from providers.records import check_text
from store.clock import iso, parse_iso
from store.dialect import ITEMS_OF_EVENTS, dialect_of, together
from store.errors import DecisionError
from store.models import Action, Claim, Item, SourceCounts
from store.oversight import (
    Past,
    Requirements,
    active_friction,
    moved_toward_ai,
    requirements,
    signals,
)
from store.policy import Recent
from store.queue import (
    COUNTS,
    ITEM_COLUMNS,
    JUST_CLAIMED,
    OPEN_CLAIM_COLUMNS,
    QueueMixin,
    counts_from,
    item_from_row,
    open_claim_from_row,
)
from store.values import check_value

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from store.db import Connection
    from store.pg import Params

VERDICTS = ("expect-approve", "expect-changes")
"""A commit-first judgement on a text draft: what the reviewer expects before reading it."""

Plant = tuple[str, str]
"""A catch trial's (mutation, detail)."""

_DEPENDS = "s.first_seq, s.first_reviewer, p.mutation, p.detail"
"""What deciding item `i` depends on besides the item: see `_depends_joins`."""

_CLAIM_WIDTH = len(OPEN_CLAIM_COLUMNS.split(", "))


def _depends_joins(conn: Connection) -> str:
    """Joins giving item `i` its second review waited for (`s`) and its plant (`p`)."""
    return f"LEFT JOIN second_reviews AS s ON s.item_id = i.id {dialect_of(conn).plant_of}"


def _depends_from_row(row: Sequence[Any]) -> tuple[Plant | None, tuple[int, str] | None]:
    """(plant, second review) from the four `_DEPENDS` columns."""
    first_seq, first_reviewer, mutation, detail = row
    plant = None if mutation is None else (mutation, detail)
    return plant, None if first_seq is None else (first_seq, first_reviewer)


@dataclass(frozen=True, slots=True)
class Judgement:
    """The reviewer's own judgement, committed before the draft was shown."""

    value: str
    """Their score or label, or a verdict from `VERDICTS` for text."""
    notes: str
    """The points the answer must make (text kinds), free form."""
    committed_at: dt.datetime
    """When it was committed."""


Claimed = tuple[Claim, Item, Plant | None, tuple[int, str] | None, Judgement | None]
"""What `ReviewMixin._claimed` reads: claim, item, plant, second review, judgement."""


class Opened(NamedTuple):
    """What `ReviewMixin.opened` reads for the item screen."""

    item: Item
    needs: Requirements
    """What deciding it takes."""
    judgement: Judgement | None
    """The reviewer's commit-first judgement, once recorded."""
    counts: list[SourceCounts]
    """The queue's counts (`QueueMixin.counts`) for the screen's top line, read with the
    rest: a team database 10 ms away saw the item one round trip later without them."""


class ReviewMixin(QueueMixin):
    """Requirements and commit-first judgements; mixed into `store.Store`."""

    def requirements(self, claim: Claim, item: Item | None = None) -> Requirements:
        """How the claimed item must be reviewed: commit-first, minimum length, second reviewer.

        Pass the `item` when it is at hand (the app just fetched it) to save a read.
        """
        return self.requirements_for(item or self.get_item(claim.item_id), claim.reviewer)

    def requirements_for(self, item: Item, reviewer: str) -> Requirements:
        """What `reviewer` would need to decide `item`, before claiming it.

        A preview must not show a draft that would open commit-first.
        """
        plant, second = _depends_from_row(
            self.conn.execute(
                f"SELECT {_DEPENDS} FROM items AS i {_depends_joins(self.conn)} WHERE i.id = ?",
                (item.id,),
            ).fetchone()
        )
        return self._requirements(item, reviewer, self._history(self.conn, reviewer), plant, second)

    def opened(self, claim: Claim) -> Opened:
        """What the item screen shows for a claim: item, requirements, judgement if any.

        The judgement is the reviewer's commit-first one, once recorded. Read as a
        decision reads them (`_claimed_and_past`): one round trip on a team database,
        where the screen made four.

        Raises:
            ClaimError: The claim has ended or expired.
        """
        return self._opened(claim)

    def claim_and_open(
        self, reviewer: str, *, exclude: Collection[int] = ()
    ) -> tuple[Claim, Opened] | None:
        """`claim_next`, and `opened` of the claim it makes (None: nothing pending).

        On a team database what the screen reads of the claim goes with the claim's
        commit: the next item is one round trip nearer (three were two claiming, one
        reading).
        """
        claim, sent = self._claim_next(
            reviewer, exclude, lambda who: self._claim_reads(self.conn, who, None, COUNTS)
        )
        return None if claim is None else (claim, self._opened(claim, sent))

    def _opened(self, claim: Claim, sent: list[Any] | None = None) -> Opened:
        """`opened`; `sent`: the cursors of its reads if they went with the claim."""
        claimed, history, _recent, (counted,) = self._claimed_and_past(
            self.conn, claim, self.now(), COUNTS, sent=sent
        )
        current, item, plant, second, mine = claimed
        needs = self._requirements(item, current.reviewer, history, plant, second)
        return Opened(item, needs, mine, counts_from(counted))

    def commit_judgement(self, claim: Claim, value: str, notes: str = "") -> Judgement:
        """Record the reviewer's own judgement before the draft is revealed.

        Args:
            claim: The open claim on a commit-first item.
            value: A number for score items, a label for label items, or one of
                `VERDICTS` for text.
            notes: For text items, the points the answer must make.

        Raises:
            DecisionError: The value does not fit the item, or a judgement exists.
            ClaimError: The claim ended or expired.
        """
        value = _checked(value, "judgement").strip()
        notes = _checked(notes, "notes").strip()
        with self._immediate() as conn:
            now = self.now()
            current, item, _plant, _second, earlier = self._claimed(conn, claim, now)
            _check_value(item, value)
            if earlier is not None:
                raise DecisionError("your judgement on this item is already recorded")
            conn.execute(
                "INSERT INTO provisionals (claim_id, value, notes, committed_at) "
                "VALUES (?, ?, ?, ?)",
                (current.id, value, notes[:2000], iso(now)),
            )
            return Judgement(value, notes, now)

    def judgement(self, claim: Claim) -> Judgement | None:
        """The judgement committed through this claim, if any."""
        return self._judgement(self.conn, claim.id)

    def _judgement(self, conn: Connection, claim_id: int) -> Judgement | None:
        row = conn.execute(
            "SELECT value, notes, committed_at FROM provisionals WHERE claim_id = ?", (claim_id,)
        ).fetchone()
        return None if row is None else _judgement(*row)

    def _claimed(self, conn: Connection, claim: Claim, now: dt.datetime) -> Claimed:
        """The open claim, its item and what deciding it depends on, in one read.

        (claim, item, plant, second review waited for, the reviewer's commit-first
        judgement): one round trip where there were four or five, each a wait on the
        team database's network.

        Raises:
            ClaimError: No such claim, or it ended or expired (`open_claim_from_row`).
        """
        (cursor,) = together(conn, _claimed_read(conn, claim.id))
        return _claimed_from_row(cursor.fetchone(), claim, now)

    def _claimed_and_past(
        self,
        conn: Connection,
        claim: Claim,
        now: dt.datetime,
        *also: tuple[str, Params],
        sent: list[Any] | None = None,
        holding: bool = False,
    ) -> tuple[Claimed, list[Past], list[Recent], list[Any]]:
        """`_claimed`, the reviewer's past (`_history_and_recent`), and `also`: one round trip.

        Read for the claim's reviewer as the caller holds it; read again should the
        stored claim name someone else. `also`: reads sent in the same trip, a cursor
        for each. `sent`: the cursors of these reads (`_claim_reads`) if the caller
        has sent them already (with a claim's commit). `holding`: in a write, the
        item's row is kept as read until the commit (`Dialect.hold_item`).

        Raises:
            ClaimError: No such claim, or it ended or expired.
        """
        reviewer = claim.reviewer
        read_claim, read_past, *extra = sent or together(
            conn, *self._claim_reads(conn, reviewer, claim.id, *also, holding=holding)
        )
        claimed = _claimed_from_row(read_claim.fetchone(), claim, now)
        if claimed[0].reviewer != reviewer:
            (read_past,) = together(conn, self._past_read(claimed[0].reviewer))
        rows = read_past.fetchall()
        history = [_past(r) for r in rows if r[0] == 0]
        return claimed, history, [_recent(r) for r in rows if r[0] == 1], extra

    def _claim_reads(
        self,
        conn: Connection,
        reviewer: str,
        claim_id: int | None,
        *also: tuple[str, Params],
        holding: bool = False,
    ) -> list[tuple[str, Params]]:
        """What `_claimed_and_past` reads of a claim, `also` after it.

        `claim_id` None: the claim this transaction is making (PostgreSQL, `JUST_CLAIMED`).
        """
        return [_claimed_read(conn, claim_id, holding), self._past_read(reviewer), *also]

    def _item(self, conn: Connection, item_id: int) -> Item:
        return item_from_row(
            conn.execute(
                f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE id = ?", (item_id,)
            ).fetchone()
        )

    def _requirements(
        self,
        item: Item,
        reviewer: str,
        history: list[Past],
        plant: Plant | None,
        second: tuple[int, str] | None,
    ) -> Requirements:
        policy = self.oversight
        return requirements(
            policy,
            base_min_chars=self.policy.min_chars,
            source=item.source,
            stakes=item.stakes,
            confidence=item.confidence,
            friction=active_friction(policy.friction, history),
            second_review_of=second[0] if second and second[1] != reviewer else None,
            planted=plant is not None,
            external_id=item.external_id,
        )

    def _oversight(
        self,
        conn: Connection,
        item: Item,
        action: Action,
        output: str | None,
        need: Requirements,
        justification: str,
        spent_ms: int,
        history: list[Past],
        plant: Plant | None,
        mine: Judgement | None,
    ) -> tuple[dict[str, Any] | None, str, bool]:
        """What oversight applied, the item's next state, and whether it is final.

        Final means deliverable: planted drafts, first approvals awaiting a second
        reviewer and disagreements between two reviewers are not.
        """
        record: dict[str, Any] = {}
        state = "escalated" if action == "escalate" else "decided"
        final = True
        if need.min_chars != self.policy.min_chars:
            record["min_chars"] = need.min_chars
        if need.commit_first:
            if mine is None:
                raise DecisionError(
                    f"{item.external_id} is reviewed commit-first: record your own judgement "
                    "before deciding"
                )
            first: dict[str, Any] = {"why": list(need.commit_first), "value": mine.value}
            if mine.notes:
                first["notes"] = mine.notes
            if item.kind in ("score", "label"):
                first["ai"] = item.draft
            first["moved_toward_ai"] = moved_toward_ai(item.kind, mine.value, item.draft, output)
            record["commit_first"] = first
        if need.friction is not None:
            record["friction"] = {
                "signals": list(need.friction.signals),
                "remaining": need.friction.remaining,
            }
        if plant is not None:
            record["planted"] = {
                "mutation": plant[0],
                "detail": plant[1],
                "caught": action != "approve",
            }
            final = False
        if need.second_review_of is not None:
            earlier = conn.execute(
                dialect_of(conn).first_decision, (need.second_review_of,)
            ).fetchone()
            agreed = earlier is not None and (earlier[0], earlier[1]) == (action, output)
            record["two_person"] = {
                "stage": 2,
                "first_seq": need.second_review_of,
                "first_reviewer": earlier[2] if earlier else None,
                "agreed": agreed,
            }
            if not agreed and action != "escalate":
                state, final = "escalated", False  # two reviewers disagree: a lead decides
        elif need.second_reviewer and (
            action in ("approve", "edit", "override") or (need.double_review and action == "reject")
        ):
            record["two_person"] = {"stage": 1}
            state, final = "pending", False
        if need.friction is None:
            now = Past(action, spent_ms, item.confidence, justification, len(item.draft), None)
            fired = signals(self.oversight.friction, now, history)
            if fired:
                record["friction_raised"] = {
                    "signals": list(fired),
                    "why": list(fired.values()),
                    "items": self.oversight.friction.items,
                }
        return (record or None), state, final

    def _history(self, conn: Connection, reviewer: str) -> list[Past]:
        """The reviewer's latest decisions, newest first, as the signals read them."""
        rows = conn.execute(_HISTORY, (reviewer, self._history_limit())).fetchall()
        return [_past(row) for row in rows]

    def _recent(self, conn: Connection, reviewer: str) -> list[Recent]:
        """The reviewer's latest justifications, newest first, as the policy reads them."""
        rows = conn.execute(_RECENT, (reviewer, self.policy.recent_window)).fetchall()
        return [_recent(row) for row in rows]

    def _past_read(self, reviewer: str) -> tuple[str, tuple[Any, ...]]:
        """The reviewer's latest decisions and events in one statement.

        First column 0: a decision (`_past`); 1: an event, retractions too (`_recent`).
        """
        return (
            f"SELECT * FROM ({_HISTORY}) AS h UNION ALL SELECT * FROM ({_RECENT}) AS r "
            "ORDER BY 1, 2 DESC",
            (reviewer, self._history_limit(), reviewer, self.policy.recent_window),
        )

    def _history_limit(self) -> int:
        friction = self.oversight.friction
        return max(10, friction.items + 1, friction.streak + 1)


_PAST_OF = (
    "e.seq, e.action, e.time_on_item_ms, e.shown_confidence, e.justification, "
    f"length(i.draft), e.oversight, e.external_id FROM ledger AS e {ITEMS_OF_EVENTS} "
    "WHERE e.reviewer = ?"
)
_HISTORY = f"SELECT 0, {_PAST_OF} AND e.action != 'retract' ORDER BY e.seq DESC LIMIT ?"
"""The reviewer's latest decisions (retractions are not decisions); see `_past`."""
_RECENT = f"SELECT 1, {_PAST_OF} ORDER BY e.seq DESC LIMIT ?"
"""The reviewer's latest events, retractions too (their justifications count); see `_recent`."""


def _claimed_read(
    conn: Connection, claim_id: int | None, holding: bool = False
) -> tuple[str, tuple[int, ...]]:
    """The statement `_claimed_from_row` reads: claim, item, depends, judgement.

    `claim_id` None: the claim just made in this transaction (`JUST_CLAIMED`).
    `holding`: the item's row is held as read until the write ends (`Dialect.hold_item`).
    """
    which, params = ("?", (claim_id,)) if claim_id is not None else (JUST_CLAIMED, ())
    return (
        f"SELECT {OPEN_CLAIM_COLUMNS}, {', '.join('i.' + c for c in ITEM_COLUMNS)}, "
        f"{_DEPENDS}, j.value, j.notes, j.committed_at FROM claims AS c "
        f"JOIN items AS i ON i.id = c.item_id {_depends_joins(conn)} "
        f"LEFT JOIN provisionals AS j ON j.claim_id = c.id WHERE c.id = {which}"
        + (dialect_of(conn).hold_item if holding else ""),
        params,
    )


def _claimed_from_row(row: Sequence[Any] | None, claim: Claim, now: dt.datetime) -> Claimed:
    """`Claimed` from `_claimed_read`'s row (None: no such claim).

    Raises:
        ClaimError: No such claim, or it ended or expired (`open_claim_from_row`).
    """
    current = open_claim_from_row(row, claim.id, now)
    assert row is not None
    items_end = _CLAIM_WIDTH + len(ITEM_COLUMNS)
    item = item_from_row(row[_CLAIM_WIDTH:items_end])
    plant, second = _depends_from_row(row[items_end : items_end + 4])
    value, notes, committed = row[items_end + 4 :]
    mine = None if value is None else _judgement(value, notes, committed)
    return current, item, plant, second, mine


def _judgement(value: str, notes: str, committed_at: str) -> Judgement:
    """A judgement from its `provisionals` row."""
    return Judgement(value, notes, parse_iso(committed_at))


def _past(row: Sequence[Any]) -> Past:
    """A decision as the signals read it, from a `_HISTORY` row."""
    _part, _seq, action, ms, confidence, text, chars, record, _ext = row
    return Past(action, ms, confidence, text, chars, json.loads(record) if record else None)


def _recent(row: Sequence[Any]) -> Recent:
    """A justification as the policy reads it, from a `_RECENT` row."""
    return Recent(row[5], row[8])


def _checked(value: str, name: str) -> str:
    try:
        return check_text(value, name)
    except ValueError as error:
        raise DecisionError(str(error)) from None


def _check_value(item: Item, value: str) -> None:
    if not value:
        raise DecisionError("give your own judgement first")
    if item.kind in ("score", "label"):
        check_value(item, value, "your own score" if item.kind == "score" else "your label")
    elif value not in VERDICTS:
        raise DecisionError(f"a judgement on a text draft is one of {', '.join(VERDICTS)}")
