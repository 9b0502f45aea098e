"""The queue: ingest drafts, claim items with leases, release them, count them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from providers.records import check_text
from providers.tokens import decode as decode_tokens
from store.clock import iso, parse_iso
from store.codec import (
    limits_from_json,
)
from store.errors import ClaimError, StoreError
from store.ingest import IngestMixin
from store.models import (
    ITEM_STATES,
    Claim,
    Item,
    ItemState,
    SourceCounts,
)
from store.pg import Params, PgConnection

if TYPE_CHECKING:
    from store.db import Connection

ITEM_COLUMNS = (
    "id", "source", "external_id", "kind", "title", "input", "draft", "draft_sha256",
    "confidence", "confidence_basis", "data_limits", "worst_limit", "model", "stakes",
    "created_at", "imported_at", "updated_at", "state", "claim_id", "meta", "token_logprobs",
)  # fmt: skip
_SELECT_ITEM = f"SELECT {', '.join(ITEM_COLUMNS)} FROM items"
_CLAIM_COLUMNS = "id, item_id, reviewer, claimed_at, lease_expires_at, resolves"
# A claim ends without a decision: its item goes back where it was — to the queue, or,
# for a lead's claim on an escalation, back to the escalations.
_GIVE_BACK = (
    "UPDATE items SET state = CASE WHEN (SELECT resolves FROM claims WHERE id = ?) IS NULL "
    "THEN 'pending' ELSE 'escalated' END, claim_id = NULL, updated_at = ? "
    "WHERE id = ? AND claim_id = ?"
)

_ASSIGNED = (
    # `IS NOT NULL` repeats the partial index's WHERE, so SQLite seeks it. `{who}` is the
    # reviewer's placeholder in each engine's style.
    ("assigned_to = {who} AND assigned_to IS NOT NULL", True),
    ("assigned_to IS NULL", False),
)
"""Whose items a claim looks at, in turn: the reviewer's own assignments, then nobody's."""
# PostgreSQL's claim (see `QueueMixin._claim_next_pg`): the same choice as SQLite's
# query — pending, not skipped, not this reviewer's own first decision, highest stakes
# then oldest — over the partial index of pending items. Both turns in one statement
# (they were a transaction each: 6 round trips for a claim of nobody's item); `anyone`
# is read only when `mine` found nothing (its `NOT EXISTS` is a one-time test), so it
# never locks a row it does not take. Its one row says as well whether any lease has
# run out (it was a round trip of its own before every claim), with the claim's
# columns NULL when nothing was taken.
_PICK_PG = """
    SELECT id FROM items WHERE state = 'pending' AND {whose} AND id <> ALL(:skip)
    AND NOT EXISTS (SELECT 1 FROM second_reviews AS s
                    WHERE s.item_id = items.id AND s.first_reviewer = :reviewer)
    ORDER BY stakes_rank DESC, created_at, id
    FOR UPDATE SKIP LOCKED LIMIT 1
"""
_MINE_PG = _PICK_PG.format(whose=_ASSIGNED[0][0].format(who=":reviewer"))
_ANYONE_PG = _PICK_PG.format(whose=f"{_ASSIGNED[1][0]} AND NOT EXISTS (SELECT 1 FROM mine)")
_CLAIM_NEXT_PG = f"""
WITH mine AS ({_MINE_PG}),
anyone AS ({_ANYONE_PG}),
ran_out AS (
    SELECT EXISTS (SELECT 1 FROM claims WHERE ended_at IS NULL AND lease_expires_at <= :now)
),
taken AS (
    INSERT INTO claims (item_id, reviewer, claimed_at, lease_expires_at)
    SELECT id, :reviewer, :now, :expires
    FROM (SELECT id FROM mine UNION ALL SELECT id FROM anyone) AS picked
    WHERE :expired_ok OR NOT (SELECT * FROM ran_out)
    RETURNING id, item_id
),
claimed AS (
    UPDATE items SET state = 'claimed', claim_id = taken.id, updated_at = :now
    FROM taken WHERE items.id = taken.item_id
    RETURNING taken.id AS claim_id, items.id AS item_id
)
SELECT claimed.claim_id, claimed.item_id, (SELECT * FROM ran_out),
       set_config('signoff.claim', coalesce(claimed.claim_id, 0)::text, true)
FROM (SELECT 1) AS one LEFT JOIN claimed ON true
"""
JUST_CLAIMED = "current_setting('signoff.claim')::bigint"
"""On PostgreSQL, the id of the claim `_CLAIM_NEXT_PG` has just made in this transaction
(0: none): the reads of the claim go in its round trip, before its id is known here."""


def skipped(exclude: Collection[int]) -> list[int]:
    """The items a claim leaves out: a session skips few; the parameter list is capped."""
    return list(exclude)[-500:]


def check_reviewer(reviewer: str) -> str:
    """Return the reviewer name stripped, or raise `StoreError` if it cannot be stored."""
    try:
        name = check_text(reviewer, "reviewer").strip()
    except ValueError as error:
        raise StoreError(str(error)) from None
    if not name or len(name) > 100:
        raise StoreError("reviewer name must be 1 to 100 characters")
    return name


AlsoRead = Callable[[str], Sequence[tuple[str, Params]]]
"""Reads of the claim a reviewer is making, sent with it on PostgreSQL (`_claim_next`);
they name it by `JUST_CLAIMED`."""
ClaimMade = tuple[Claim | None, list[Any]] | None
"""A claim statement's outcome (`QueueMixin._claim_pg`): the claim (None: nothing
pending) and the cursors of the reads that went with it; None when a lease had run
out, and nothing was claimed."""


COUNTS_READ = "SELECT source, state, n FROM item_counts WHERE n > 0 ORDER BY source"
COUNTS: tuple[str, Params] = (COUNTS_READ, ())
"""`COUNTS_READ` as a statement sent with others (a claim's reads, `together`)."""
"""Items per source and state (`counts_from` reads its rows)."""


def counts_from(rows: Iterable[tuple[str, str, int]]) -> list[SourceCounts]:
    """`COUNTS_READ`'s rows as one `SourceCounts` per source."""
    per: dict[str, dict[str, int]] = {}
    for source, state, n in rows:
        per.setdefault(source, {})[state] = n
    return [
        SourceCounts(source, **{s: states.get(s, 0) for s in ITEM_STATES})
        for source, states in per.items()
    ]


_SOURCES = (
    "sources (source) AS (SELECT min(source) FROM items UNION ALL "
    "SELECT (SELECT min(source) FROM items WHERE source > sources.source) FROM sources "
    "WHERE sources.source IS NOT NULL)"
)
"""The queue's sources, each found by one index seek past the last (a loose index scan):
a few probes where `SELECT DISTINCT source` reads every item."""


class QueueMixin(IngestMixin):
    """Queue operations; mixed into `store.Store`."""

    def claim_next(self, reviewer: str, *, exclude: Collection[int] = ()) -> Claim | None:
        """Claim the next pending item (highest stakes, then oldest), or None if none is left.

        Runs under `BEGIN IMMEDIATE`, so two reviewers never get the same item.

        Args:
            reviewer: Who claims.
            exclude: Item ids to pass over (the ones this reviewer skipped).
        """
        return self._claim_next(reviewer, exclude)[0]

    def _claim_next(
        self, reviewer: str, exclude: Collection[int], also: AlsoRead | None = None
    ) -> tuple[Claim | None, list[Any]]:
        """`claim_next`, and on PostgreSQL a cursor for each of `also`'s reads of the claim.

        They go in the claim's own round trip (`PgConnection.commit_with`); on SQLite,
        and when nothing was claimed, there are none.
        """
        reviewer = check_reviewer(reviewer)
        skip = skipped(exclude)
        if isinstance(self.conn, PgConnection):
            return self._claim_next_pg(self.conn, reviewer, skip, also)
        not_in = f"AND id NOT IN ({','.join('?' * len(skip))}) " if skip else ""
        with self._immediate(durable=False) as conn:
            now = self.now()
            self._expire_leases(conn, iso(now))
            # The reviewer's own assignments first, then what is assigned to nobody. An
            # item this reviewer approved first waits for someone else (two-person rule).
            for whose, mine in _ASSIGNED:
                row = conn.execute(
                    f"SELECT id FROM items WHERE state = 'pending' AND {whose.format(who='?')} "
                    f"{not_in}"
                    "AND NOT EXISTS (SELECT 1 FROM second_reviews AS s "
                    "WHERE s.item_id = items.id AND s.first_reviewer = ?) "
                    "ORDER BY stakes_rank DESC, created_at, id LIMIT 1",
                    [*([reviewer] if mine else []), *skip, reviewer],
                ).fetchone()
                if row is not None:
                    return self._take(conn, row[0], reviewer), []
            return None, []

    def _claim_next_pg(
        self, conn: PgConnection, reviewer: str, skip: list[int], also: AlsoRead | None
    ) -> tuple[Claim | None, list[Any]]:
        """`claim_next` on PostgreSQL: one statement, without the one-writer lock.

        The next pending item is locked `FOR UPDATE SKIP LOCKED`, claimed and marked in
        one statement (a reviewer never waits for another's pick; no item is claimed
        twice: the row lock decides), sent with the begin, `also`'s reads of the claim
        and the commit: one round trip. When a lease has run out (rare), the statement
        claims nothing; the leases are ended under the write lock, as on SQLite, so two
        claimers never expire one lease at once, and the claim is made again: the item
        that came back to the queue is chosen in its turn.
        """
        taken = self._claim_pg(conn, reviewer, skip, also, expired_ok=False)
        if taken is None:
            with self._immediate(durable=False) as locked:
                self._expire_leases(locked, iso(self.now()))
            taken = self._claim_pg(conn, reviewer, skip, also, expired_ok=True)
            assert taken is not None  # with `expired_ok`, a lease run out is no bar
        return taken

    def _claim_pg(
        self,
        conn: PgConnection,
        reviewer: str,
        skip: list[int],
        also: AlsoRead | None,
        *,
        expired_ok: bool,
    ) -> ClaimMade:
        """One claim statement: the claim (None: nothing pending), and `also`'s cursors.

        None when a lease has run out and not `expired_ok`: then nothing was claimed.
        """
        statement, made = self._claim_statement(reviewer, skip, expired_ok=expired_ok)
        reads = also(reviewer) if also else ()
        with conn.write(durable=False, locked=False):
            cursor, *sent = conn.commit_with(statement, *reads)
        return made(cursor, sent)

    def _claim_statement(
        self, reviewer: str, skip: list[int], *, expired_ok: bool
    ) -> tuple[tuple[str, Params], Callable[[Any, list[Any]], ClaimMade]]:
        """The claim statement of `_claim_pg`, and what reads its answer (with `also`'s)."""
        now = self.now()
        values = {
            "reviewer": reviewer,
            "skip": skip,
            "now": iso(now),
            "expires": iso(now + self.lease),
            "expired_ok": expired_ok,
        }

        def made(cursor: Any, sent: list[Any]) -> ClaimMade:
            claim_id, item_id, expired, _ = cursor.fetchone()
            if expired and not expired_ok:
                return None
            if claim_id is None or item_id is None:
                return None, []
            return Claim(claim_id, item_id, reviewer, now, now + self.lease), sent

        return (_CLAIM_NEXT_PG, values), made

    def claim_item(self, item_id: int, reviewer: str) -> Claim:
        """Claim one chosen item; returns the reviewer's own open claim if they hold it.

        Raises:
            ClaimError: When the item is decided, or claimed by someone else.
        """
        reviewer = check_reviewer(reviewer)
        with self._immediate(durable=False) as conn:
            self._expire_leases(conn, iso(self.now()))
            row = conn.execute(
                "SELECT state, claim_id, external_id FROM items WHERE id = ?", (item_id,)
            ).fetchone()
            if row is None:
                raise ClaimError(f"there is no item {item_id}")
            state, claim_id, external_id = row
            if state == "pending":
                first = conn.execute(
                    "SELECT first_reviewer FROM second_reviews WHERE item_id = ?", (item_id,)
                ).fetchone()
                if first is not None and first[0] == reviewer:
                    raise ClaimError(
                        f"you took the first decision on {external_id}; under the two-person "
                        "rule a different reviewer takes the second"
                    )
                return self._take(conn, item_id, reviewer)
            if state == "escalated":
                return self._take_escalation(conn, item_id, external_id, reviewer)
            if state == "claimed":
                claim = self._claim_row(conn, claim_id)
                if claim.reviewer == reviewer:
                    return claim
                until = claim.lease_expires_at.strftime("%H:%M UTC")
                raise ClaimError(
                    f"{external_id} is being reviewed by {claim.reviewer} until {until}"
                )
            raise ClaimError(f"{external_id} is already {state}")

    def _take_escalation(
        self, conn: Connection, item_id: int, external_id: str, reviewer: str
    ) -> Claim:
        """A lead's claim on an escalated item, naming the event that escalated it."""
        if not self.is_lead(reviewer):
            raise ClaimError(
                f"{external_id} is escalated: a lead resolves it (its history opens read-only)"
            )
        (seq,) = conn.execute(
            "SELECT max(seq) FROM ledger WHERE item_id = ?", (item_id,)
        ).fetchone()
        return self._take(conn, item_id, reviewer, resolves=seq)

    def renew(self, claim: Claim) -> Claim:
        """Extend an open, unexpired claim by one lease period.

        Raises:
            ClaimError: When the claim has ended or its lease ran out.
        """
        with self._immediate(durable=False) as conn:
            now = self.now()
            current = self._open_claim(conn, claim, now)
            expires = now + self.lease
            conn.execute(
                "UPDATE claims SET lease_expires_at = ? WHERE id = ?", (iso(expires), current.id)
            )
            return dataclasses.replace(current, lease_expires_at=expires)

    def release(self, claim: Claim) -> bool:
        """Give the item back to the queue without a decision (nothing is recorded).

        Returns False when the claim had already ended (expired, released or decided).
        """
        with self._immediate(durable=False) as conn:
            stamp = iso(self.now())
            ended = conn.execute(
                "UPDATE claims SET ended_at = ?, end_reason = 'released' "
                "WHERE id = ? AND ended_at IS NULL",
                (stamp, claim.id),
            ).rowcount
            if ended:
                conn.execute(_GIVE_BACK, (claim.id, stamp, claim.item_id, claim.id))
            return bool(ended)

    def get_item(self, item_id: int) -> Item:
        """The item with this id.

        Raises:
            StoreError: When there is none.
        """
        row = self.conn.execute(f"{_SELECT_ITEM} WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise StoreError(f"there is no item {item_id}")
        return item_from_row(row)

    def find_item(self, source: str, external_id: str) -> Item | None:
        """The item a source knows as `external_id`, if imported."""
        row = self.conn.execute(
            f"{_SELECT_ITEM} WHERE source = ? AND external_id = ?", (source, external_id)
        ).fetchone()
        return None if row is None else item_from_row(row)

    def items_named(self, external_id: str) -> list[Item]:
        """Items any source knows as `external_id` (one per source), by source.

        The only index with `external_id` leads with `source`: by the id alone both
        engines read all of it (41-65 ms at a million items, each `signoff show`). The
        sources are walked first, one seek each (`_SOURCES`), then each is probed.
        """
        rows = self.conn.execute(
            f"WITH RECURSIVE {_SOURCES} {_SELECT_ITEM} WHERE source IN "
            "(SELECT source FROM sources WHERE source IS NOT NULL) AND external_id = ? "
            "ORDER BY source",
            (external_id,),
        ).fetchall()
        return [item_from_row(row) for row in rows]

    def has_item(self, source: str, external_id: str) -> bool:
        """Whether the queue holds this record (one index probe; nothing is decoded)."""
        return (
            self.conn.execute(
                "SELECT 1 FROM items WHERE source = ? AND external_id = ?", (source, external_id)
            ).fetchone()
            is not None
        )

    def counts(self) -> list[SourceCounts]:
        """Items per source and state, from the trigger-maintained counts table."""
        return counts_from(self.conn.execute(COUNTS_READ))

    def _take(
        self, conn: Connection, item_id: int, reviewer: str, resolves: int | None = None
    ) -> Claim:
        now = self.now()
        expires = now + self.lease
        (claim_id,) = conn.execute(
            "INSERT INTO claims (item_id, reviewer, claimed_at, lease_expires_at, resolves) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (item_id, reviewer, iso(now), iso(expires), resolves),
        ).fetchone()
        # The conditional update is the guard; under BEGIN IMMEDIATE it cannot miss,
        # but if it ever did we must not hand out an item someone else holds.
        taken = conn.execute(
            "UPDATE items SET state = 'claimed', claim_id = ?, updated_at = ? "
            "WHERE id = ? AND state = ?",
            (claim_id, iso(now), item_id, "pending" if resolves is None else "escalated"),
        ).rowcount
        if taken != 1 or claim_id is None:
            raise ClaimError(f"item {item_id} was taken by someone else; try again")
        return Claim(claim_id, item_id, reviewer, now, expires, resolves)

    def _expire_leases(self, conn: Connection, now_iso: str) -> None:
        """Return items whose lease ran out to the queue. Never a ledger event."""
        expired = conn.execute(
            "SELECT id, item_id FROM claims WHERE ended_at IS NULL AND lease_expires_at <= ?",
            (now_iso,),
        ).fetchall()
        for claim_id, item_id in expired:
            conn.execute(
                "UPDATE claims SET ended_at = ?, end_reason = 'expired' WHERE id = ?",
                (now_iso, claim_id),
            )
            conn.execute(_GIVE_BACK, (claim_id, now_iso, item_id, claim_id))

    def _claim_row(self, conn: Connection, claim_id: int) -> Claim:
        row = conn.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM claims WHERE id = ?", (claim_id,)
        ).fetchone()
        if row is None:
            raise ClaimError(f"there is no claim {claim_id}")
        return _claim(row)

    def _open_claim(self, conn: Connection, claim: Claim, now: dt.datetime) -> Claim:
        """The claim as stored, if it is still open and unexpired; else `ClaimError`."""
        row = conn.execute(
            f"SELECT {OPEN_CLAIM_COLUMNS} FROM claims AS c WHERE id = ?", (claim.id,)
        ).fetchone()
        return open_claim_from_row(row, claim.id, now)


OPEN_CLAIM_COLUMNS = ", ".join(
    f"c.{name}" for name in (*_CLAIM_COLUMNS.split(", "), "ended_at", "end_reason")
)
"""What `open_claim_from_row` reads, from `claims AS c` (8 columns)."""


def open_claim_from_row(row: Sequence[Any] | None, claim_id: int, now: dt.datetime) -> Claim:
    """The claim selected with `OPEN_CLAIM_COLUMNS`, if still open and unexpired.

    Raises:
        ClaimError: No such claim (`row` is None), or it ended or expired (and how).
    """
    if row is None:
        raise ClaimError(f"there is no claim {claim_id}")
    if row[6] is not None:
        raise ClaimError(f"this claim has already ended ({row[7]}); open the item again")
    current = _claim(row)
    if current.lease_expires_at <= now:
        raise ClaimError(
            "your claim expired at "
            f"{current.lease_expires_at.strftime('%H:%M:%S UTC')}; open the item again"
        )
    return current


def _claim(row: Sequence[Any]) -> Claim:
    """A claim from a row selected with `_CLAIM_COLUMNS`."""
    return Claim(row[0], row[1], row[2], parse_iso(row[3]), parse_iso(row[4]), row[5])


def item_from_row(row: Sequence[Any]) -> Item:
    """Build an `Item` from a row selected with `ITEM_COLUMNS`."""
    v = dict(zip(ITEM_COLUMNS, row, strict=True))
    return Item(
        id=v["id"],
        source=v["source"],
        external_id=v["external_id"],
        kind=v["kind"],
        title=v["title"],
        input=v["input"],
        draft=v["draft"],
        draft_sha256=v["draft_sha256"],
        confidence=v["confidence"],
        confidence_basis=v["confidence_basis"],
        data_limits=limits_from_json(v["data_limits"]),
        worst_limit=v["worst_limit"],
        model=v["model"],
        stakes=v["stakes"],
        created_at=parse_iso(v["created_at"]),
        imported_at=parse_iso(v["imported_at"]),
        updated_at=parse_iso(v["updated_at"]),
        state=cast(ItemState, v["state"]),
        claim_id=v["claim_id"],
        meta=json.loads(v["meta"]),
        tokens=decode_tokens(v["token_logprobs"]),
    )
