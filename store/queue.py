"""The queue: ingest drafts, claim items with leases, release them, count them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from providers.base import STAKES_RANK, Draft
from providers.records import check_text
from providers.tokens import decode as decode_tokens
from providers.tokens import encode as encode_tokens
from store.clock import iso, parse_iso
from store.codec import (
    compact_json,
    content_hash,
    limits_from_json,
    limits_json,
    sha256_text,
    worst_limit,
)
from store.db import StoreBase
from store.dialect import dialect_of
from store.errors import ClaimError, StoreError
from store.models import (
    ITEM_STATES,
    BatchSummary,
    Claim,
    Item,
    ItemState,
    SourceCounts,
)
from store.pg import PgConnection
from store.search import index_new

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

_INSERT_COLUMNS = (
    "source", "external_id", "kind", "title", "input", "draft", "draft_sha256", "confidence",
    "confidence_basis", "data_limits", "worst_limit", "model", "stakes", "stakes_rank", "meta",
    "content_hash", "created_at", "imported_at", "updated_at", "token_logprobs",
)  # fmt: skip
# Positional, not named: binding a tuple is ~5 µs a row cheaper than a dict.
INSERT_ITEM = (
    # The one statement that adds an item: imports and catch trials alike.
    f"INSERT INTO items ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
)
# created_at stays as first seen when the source sends none; only pending items change.
_UPDATE = """
UPDATE items SET kind = :kind, title = :title, input = :input, draft = :draft,
    draft_sha256 = :draft_sha256, confidence = :confidence, confidence_basis = :confidence_basis,
    data_limits = :data_limits, worst_limit = :worst_limit, model = :model, stakes = :stakes,
    stakes_rank = :stakes_rank, meta = :meta, content_hash = :content_hash,
    token_logprobs = :token_logprobs,
    created_at = coalesce(:given_created_at, created_at), updated_at = :updated_at
WHERE source = :source AND external_id = :external_id AND state = 'pending'
"""
_ASSIGNED = (
    # `IS NOT NULL` repeats the partial index's WHERE, so SQLite seeks it. `{who}` is the
    # reviewer's placeholder in each engine's style.
    ("assigned_to = {who} AND assigned_to IS NOT NULL", True),
    ("assigned_to IS NULL", False),
)
"""Whose items a claim looks at, in turn: the reviewer's own assignments, then nobody's."""
_ANY_EXPIRED = "SELECT 1 FROM claims WHERE ended_at IS NULL AND lease_expires_at <= ? LIMIT 1"
# PostgreSQL's claim (see `QueueMixin._claim_next_pg`): the same choice as SQLite's
# query — pending, not skipped, not this reviewer's own first decision, highest stakes
# then oldest — over the partial index of pending items. Both turns in one statement
# (they were a transaction each: 6 round trips for a claim of nobody's item); `anyone`
# is read only when `mine` found nothing (its `NOT EXISTS` is a one-time test), so it
# never locks a row it does not take.
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
taken AS (
    INSERT INTO claims (item_id, reviewer, claimed_at, lease_expires_at)
    SELECT id, :reviewer, :now, :expires
    FROM (SELECT id FROM mine UNION ALL SELECT id FROM anyone) AS picked
    RETURNING id, item_id
)
UPDATE items SET state = 'claimed', claim_id = taken.id, updated_at = :now
FROM taken WHERE items.id = taken.item_id
RETURNING taken.id, items.id
"""
_LOOKUP_CHUNK = 500  # stays under SQLite's host-parameter limit on old builds
_ANALYZE_AFTER = 1000
"""Rows a store adds to a PostgreSQL `items` before it first analyzes it (`_grew`)."""


def check_reviewer(reviewer: str) -> str:
    """Return the reviewer name stripped, or raise `StoreError` if it cannot be stored."""
    try:
        name = check_text(reviewer, "reviewer").strip()
    except ValueError as error:
        raise StoreError(str(error)) from None
    if not name or len(name) > 100:
        raise StoreError("reviewer name must be 1 to 100 characters")
    return name


class QueueMixin(StoreBase):
    """Queue operations; mixed into `store.Store`."""

    def _rows(self, drafts: Sequence[Draft], now: dt.datetime, stamp: str) -> list[dict[str, Any]]:
        """The drafts' rows; those without a time of their own dated a microsecond apart.

        From `now` (or just after this store's last such record, whichever is later), in
        the order given. One time for a whole batch gave 500 records the same place, and
        a catch trial placed beside one of them could only follow all 500 (ties go by
        id): a run of plants after every batch of an import without times.
        """
        moment = max(now, self._untimed_after or now)
        rows = []
        for draft in drafts:
            if draft.created_at is None:
                rows.append(draft_row(draft, stamp, created=iso(moment)))
                moment += _MICROSECOND
            else:
                rows.append(draft_row(draft, stamp))
        self._untimed_after = moment
        return rows

    def ingest(self, drafts: Sequence[Draft]) -> BatchSummary:
        """Store one batch of drafts in a single transaction.

        New `(source, external_id)` pairs are added; pending items with changed content
        are updated; identical ones are counted unchanged; items already claimed,
        decided or escalated are skipped, never duplicated or overwritten.
        """
        now = self.now()
        stamp = iso(now)
        inserts: dict[tuple[str, str], dict[str, Any]] = {}
        updates: dict[tuple[str, str], dict[str, Any]] = {}
        added = updated = unchanged = skipped = 0
        # Rows (hashes, JSON) are built before the write lock is taken: other writers
        # (reviewers deciding) wait only for the lookups and inserts.
        rows = self._rows(drafts, now, stamp)
        batch_ids: dict[str, set[str]] = {}  # per source, built only if a plant must move
        with self._immediate(durable=False) as conn:
            existing = self._existing(conn, drafts)
            # Records are taken in order, so a key repeated in one batch behaves
            # exactly as if the two records had come in two imports.
            for draft, row in zip(drafts, rows, strict=True):
                key = (draft.source, draft.external_id)
                known = existing.get(key)
                if known is not None and known[2]:
                    # A real record wants the id a planted draft was given: the plant moves,
                    # to an id no record of this batch wants either.
                    if draft.source not in batch_ids:
                        batch_ids[draft.source] = {
                            d.external_id for d in drafts if d.source == draft.source
                        }
                    _rekey_plant(conn, draft.source, draft.external_id, batch_ids[draft.source])
                    known = None
                if known is None:
                    inserts[key] = row
                    added += 1
                elif known[0] != "pending":
                    skipped += 1
                    continue
                elif known[1] == row["content_hash"]:
                    unchanged += 1
                    continue
                else:
                    (inserts if key in inserts else updates)[key] = row
                    updated += 1
                existing[key] = ("pending", row["content_hash"], False)
            conn.executemany(INSERT_ITEM, map(insert_values, inserts.values()))
            count_inserted(conn, (row["source"] for row in inserts.values()))
            conn.executemany(_UPDATE, updates.values())
            index_new(conn)
        self._grew(added)
        return BatchSummary(added, updated, unchanged, skipped)

    _grown = 0
    _analyzed_size = 0

    def _grew(self, added: int) -> None:
        """PostgreSQL: analyze `items` each time this store has grown it by a fifth.

        A bulk import outruns PostgreSQL's own analyze: planning for the few rows it last
        counted, the lookup of a batch's ids read the whole table (195 ms a batch at 50k
        items, hours at a million) and each catch trial's base pick every pending row
        above a random id. Analyzing as the table grows keeps index plans; about 40
        times over a million rows. A login that does not own the table gets a warning
        and the old figures, nothing worse.
        """
        if not added or dialect_of(self.conn).name != "postgresql":
            return
        self._grown += added
        if self._grown >= max(_ANALYZE_AFTER, self._analyzed_size // 5):
            self.conn.execute("ANALYZE items")
            self._analyzed_size += self._grown
            self._grown = 0

    def _existing(
        self, conn: Connection, drafts: Sequence[Draft]
    ) -> dict[tuple[str, str], tuple[str, str, bool]]:
        by_source: dict[str, list[str]] = {}
        for draft in drafts:
            by_source.setdefault(draft.source, []).append(draft.external_id)
        found: dict[tuple[str, str], tuple[str, str, bool]] = {}
        for source, ids in by_source.items():
            for start in range(0, len(ids), _LOOKUP_CHUNK):
                chunk = ids[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                for ext, state, chash, planted in conn.execute(
                    "SELECT external_id, state, content_hash, "
                    "EXISTS (SELECT 1 FROM plants WHERE item_id = items.id) FROM items "
                    f"WHERE source = ? AND external_id IN ({marks})",
                    [source, *chunk],
                ):
                    found[(source, ext)] = (state, chash, bool(planted))
        return found

    def claim_next(self, reviewer: str, *, exclude: Collection[int] = ()) -> Claim | None:
        """Claim the next pending item (highest stakes, then oldest), or None if none is left.

        Runs under `BEGIN IMMEDIATE`, so two reviewers never get the same item.

        Args:
            reviewer: Who claims.
            exclude: Item ids to pass over (the ones this reviewer skipped).
        """
        reviewer = check_reviewer(reviewer)
        skip = list(exclude)[-500:]  # a session skips few; cap the parameter list anyway
        if isinstance(self.conn, PgConnection):
            return self._claim_next_pg(self.conn, reviewer, skip)
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
                    return self._take(conn, row[0], reviewer)
            return None

    def _claim_next_pg(self, conn: PgConnection, reviewer: str, skip: list[int]) -> Claim | None:
        """`claim_next` on PostgreSQL: one statement, without the one-writer lock.

        The next pending item is locked `FOR UPDATE SKIP LOCKED`, claimed and marked in
        one statement (a reviewer never waits for another's pick; no item is claimed
        twice: the row lock decides). Expired leases, rare, are ended first under the
        write lock, as on SQLite, so two claimers never expire one lease at once.
        """
        now = self.now()
        stamp = iso(now)
        if conn.execute(_ANY_EXPIRED, (stamp,)).fetchone() is not None:
            with self._immediate(durable=False) as locked:
                self._expire_leases(locked, stamp)
        values = {
            "reviewer": reviewer,
            "skip": skip,
            "now": stamp,
            "expires": iso(now + self.lease),
        }
        with conn.write(durable=False, locked=False):
            row = conn.execute(_CLAIM_NEXT_PG, values).fetchone()
        return None if row is None else Claim(row[0], row[1], reviewer, now, now + self.lease)

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
        """Items any source knows as `external_id` (one per source), by source."""
        rows = self.conn.execute(
            f"{_SELECT_ITEM} WHERE external_id = ? ORDER BY source", (external_id,)
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
        per: dict[str, dict[str, int]] = {}
        for source, state, n in self.conn.execute(
            "SELECT source, state, n FROM item_counts WHERE n > 0 ORDER BY source"
        ):
            per.setdefault(source, {})[state] = n
        return [
            SourceCounts(source, **{s: states.get(s, 0) for s in ITEM_STATES})
            for source, states in per.items()
        ]

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
            f"SELECT {_CLAIM_COLUMNS}, ended_at, end_reason FROM claims WHERE id = ?",
            (claim.id,),
        ).fetchone()
        if row is None:
            raise ClaimError(f"there is no claim {claim.id}")
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


def count_inserted(conn: Connection, sources: Iterable[str]) -> None:
    """Add newly inserted (pending) items to `item_counts`, one upsert per source.

    Per batch, not per row: a row trigger cost ~17 µs of every insert (m006).
    """
    for source, n in Counter(sources).items():
        conn.execute(
            "INSERT INTO item_counts (source, state, n) VALUES (?, 'pending', ?) "
            "ON CONFLICT (source, state) DO UPDATE SET n = item_counts.n + excluded.n",
            (source, n),
        )


def _rekey_plant(conn: Connection, source: str, external_id: str, batch: Collection[str]) -> None:
    import random

    from store.plants import lookalike

    new = lookalike(conn, source, external_id, random.Random(external_id), avoid=batch)
    conn.execute(
        "UPDATE items SET external_id = ? WHERE source = ? AND external_id = ?",
        (new, source, external_id),
    )


def insert_values(row: dict[str, Any]) -> tuple[Any, ...]:
    """A `draft_row` as the positional values of `INSERT_ITEM`."""
    return tuple(row[name] for name in _INSERT_COLUMNS)


_MICROSECOND = dt.timedelta(microseconds=1)


def draft_row(draft: Draft, stamp: str, *, created: str | None = None) -> dict[str, Any]:
    """A draft as the `items` row it becomes (hashes, JSON columns, ranks, times).

    `created`: its place in time when it has no time of its own (else `stamp`).
    """
    given = iso(draft.created_at) if draft.created_at else None
    return {
        "source": draft.source,
        "external_id": draft.external_id,
        "kind": draft.kind,
        "title": draft.title,
        "input": draft.input,
        "draft": draft.draft,
        "draft_sha256": sha256_text(draft.draft),
        "confidence": draft.confidence,
        "confidence_basis": draft.confidence_basis,
        "data_limits": limits_json(draft.data_limits),
        "worst_limit": worst_limit(draft.data_limits),
        "model": draft.model,
        "stakes": draft.stakes,
        "stakes_rank": STAKES_RANK[draft.stakes],
        "meta": compact_json(draft.meta) if draft.meta else "{}",
        "content_hash": content_hash(draft),
        "created_at": given or created or stamp,
        "given_created_at": given,
        "imported_at": stamp,
        "updated_at": stamp,
        "token_logprobs": encode_tokens(draft.tokens),
    }


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
