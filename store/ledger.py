"""The ledger: decisions as hash-chained, append-only events.

Every event is checked against the justification policy inside the same
`BEGIN IMMEDIATE` transaction that appends it, so no caller can skip the rules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, cast

from store.arguments import (
    checked_reason,
    checked_text,
    decision_output,
    elapsed_ms,
)
from store.clock import iso, parse_iso
from store.codec import (
    GENESIS_HASH,
    canonical_json,
    compact_json,
    limits_from_json,
    limits_json,
)
from store.dialect import deferred, dialect_of, scan
from store.errors import ClaimError, ConnectionLost, DecisionError, JustificationRefused
from store.models import DECISION_ACTIONS, Action, ChainReport, Claim, Event, Item, Shown
from store.outbox import OutboxMixin
from store.policy import Recent, evaluate
from store.review import ReviewMixin
from store.values import check_value

if TYPE_CHECKING:
    from store.db import Connection

HASHED_FIELDS: Final = (
    "seq", "item_id", "source", "external_id", "claim_id", "reviewer", "action",
    "justification", "output", "reason_code", "retracts", "draft_sha256", "shown_confidence",
    "shown_basis", "shown_limits", "time_on_item_ms", "recorded_at", "prev_hash",
)  # fmt: skip
"""Columns covered by every event's hash, in the ledger's column order."""

EVENT_FIELDS: Final = (*HASHED_FIELDS, "oversight", "hash")
"""Every column of an event; `oversight` is hashed too when an event has it."""

EVENT_COLUMNS: Final = ", ".join(EVENT_FIELDS)
"""The ledger's columns in `EVENT_FIELDS` order, for a SELECT or an INSERT."""
HASH_VERSION: Final = 1
OVERSIGHT_HASH_VERSION: Final = 2


def chain_link(fields: dict[str, Any], head: tuple[int, str]) -> dict[str, Any]:
    """The next link of the chain: `seq` and `prev_hash` from the head, then the hash.

    The rule for every engine; each supplies the head (position, hash), held under
    its own write lock until the event commits (SQLite: BEGIN IMMEDIATE; PostgreSQL:
    the chain head row `FOR UPDATE`).
    """
    position, prev_hash = head
    row = {**fields, "seq": position + 1, "prev_hash": prev_hash}
    row.setdefault("oversight", None)
    row["hash"] = event_hash(row)
    return row


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields (plus a format version).

    Events with oversight data (version 2) hash its JSON text as well; events without
    hash exactly as before it existed, so older ledgers still verify. The rule itself
    is `row_hasher`'s (one definition); this is it for one event given by name.
    """
    return _by_name()((*(fields[name] for name in HASHED_FIELDS), fields.get("oversight")))


_V1_KEYS: Final = tuple(sorted(HASHED_FIELDS))
_V2_KEYS: Final = tuple(sorted((*HASHED_FIELDS, "oversight")))


def row_hasher(names: Sequence[str]) -> Callable[[Sequence[Any]], str]:
    """The event hash of rows whose columns are `names`, without a dict per row first.

    SHA-256 of the canonical JSON (sorted keys) of the hashed fields, `oversight` when
    it is set, and `v`, the format version. The payload is built with its keys already
    in sorted order and encoded without sorting: the same text (a test holds it to
    `json.dumps(..., sort_keys=True)`), ~35 % less time a row. `verify` hashes every
    event in the ledger: 20 s at a million.
    """
    import hashlib  # not at import: see `sha256_text`

    at = {name: i for i, name in enumerate(names)}
    plain, with_oversight = (
        itemgetter(*(at[n] for n in _V1_KEYS)),
        itemgetter(*(at[n] for n in _V2_KEYS)),
    )
    oversight_at = at["oversight"]
    encode, sha256 = compact_json, hashlib.sha256

    def digest(row: Sequence[Any]) -> str:
        oversight = row[oversight_at]
        if oversight is None or oversight == "":
            payload = dict(zip(_V1_KEYS, plain(row), strict=True))
            payload["v"] = HASH_VERSION  # "v" sorts after every column name
        else:
            payload = dict(zip(_V2_KEYS, with_oversight(row), strict=True))
            payload["v"] = OVERSIGHT_HASH_VERSION
        return sha256(encode(payload).encode("utf-8")).hexdigest()

    return digest


@cache
def _by_name() -> Callable[[Sequence[Any]], str]:
    """`row_hasher` for (the hashed fields, oversight): made at the first hash, not at import."""
    return row_hasher((*HASHED_FIELDS, "oversight"))


class LedgerMixin(ReviewMixin, OutboxMixin):
    """Ledger operations; mixed into `store.Store`."""

    def decide(
        self,
        claim: Claim,
        action: Action,
        justification: str,
        *,
        output: str | None = None,
        reason_code: str | None = None,
        shown: Shown | None = None,
        advocate: Mapping[str, str] | None = None,
    ) -> Event:
        """Record a reviewer's decision on a claimed item and end the claim.

        Args:
            claim: The open claim the decision is taken through.
            action: approve, edit, override, reject or escalate.
            justification: The reviewer's typed reason; checked against the policy.
            output: The edited text (edit) or the replacement value (override).
            reason_code: Required for override and reject (e.g. `factual-error`).
            shown: What the UI displayed; defaults to the item as stored. A draft hash
                that no longer matches the stored draft is refused.
            advocate: What the devil's advocate said, as shown (`text`, `model`; or
                `error`): required when the policy gives the item one, hashed with the
                event in its oversight record, never the decision's output.

        The oversight policy applies here too: a commit-first item needs the reviewer's
        own judgement first (`commit_judgement`), the justification minimum may be
        raised, an item needing two reviewers stays open after the first approval, and
        rubber-stamp signals raise friction for the reviewer's next items. What applied
        is recorded, hashed, in the event's `oversight`.

        Raises:
            JustificationRefused: The justification broke a policy rule.
            ClaimError: The claim ended, expired, or does not hold the item.
            DecisionError: Output or reason code missing or not allowed for the action,
                or a commit-first item decided without a judgement.
            ConnectionLost: The team database could not be reached again (nothing was
                recorded; the claim holds until its lease ends).

        The claim is the decision's key, made before it is sent: when the connection
        breaks, the store reconnects and asks whether an event holds that claim —
        returns it if so, else sends the decision once more. A decision is never
        recorded twice.
        """

        def attempt() -> Event:
            return self._decide(
                claim, action, justification, output=output, reason_code=reason_code,
                shown=shown, advocate=advocate,
            )  # fmt: skip

        return self._once(attempt, "claim_id", claim.id)

    def _once(self, attempt: Callable[[], Event], key: str, value: int) -> Event:
        """Run `attempt`; across a broken connection, find its event by `key` or retry once.

        `key` is unique in the ledger (one decision per claim, one retraction per event)
        and known before the attempt is sent, so a retry can never record it twice.
        """
        try:
            return attempt()
        except ConnectionLost:
            row = self.conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM ledger WHERE {key} = ?", (value,)
            ).fetchone()
            if row is not None:
                return event_from_row(row)  # recorded before the line broke
            return attempt()  # not recorded: the store has reconnected; once more

    def _decide(
        self,
        claim: Claim,
        action: Action,
        justification: str,
        *,
        output: str | None = None,
        reason_code: str | None = None,
        shown: Shown | None = None,
        advocate: Mapping[str, str] | None = None,
        then: Callable[[Connection], None] | None = None,
    ) -> Event:
        """`decide` without the recovery from a broken connection.

        `then`: run last in the decision's write, to end it (`AheadMixin`).
        """
        if action not in DECISION_ACTIONS:
            raise DecisionError(f"{action!r} is not a decision (use one of {DECISION_ACTIONS})")
        justification = checked_text(justification, "justification")
        reason = checked_reason(reason_code, action)
        # Two round trips on a team database, where each is a wait on its network: the
        # write's begin and lock with every read (claim, item, history, chain head), then
        # the writes with the commit. The reads see what the writer before committed,
        # and the item's row is held as read (`Dialect.hold_item`: PostgreSQL's claims
        # take no write lock), so the settle below cannot miss and nothing needs a trip
        # to re-check it. On SQLite, BEGIN IMMEDIATE holds the lock throughout.
        with self._immediate() as conn:
            now = self.now()
            claimed, history, recent, (read_head,) = self._claimed_and_past(
                conn, claim, now, (dialect_of(conn).chain_head, ()), holding=True
            )
            current, item, plant, second, mine = claimed
            if item.claim_id != current.id:
                raise _not_held(item)  # released, or lapsed and taken, before this began
            result = decision_output(action, output, item.draft)
            if action == "override" and result is not None:
                check_value(item, result, "the new value")
            seen = shown or Shown(
                item.draft_sha256, item.confidence, item.confidence_basis, item.data_limits
            )
            if seen.draft_sha256 != item.draft_sha256:
                raise ClaimError(f"the draft of {item.external_id} changed; open it again")
            need = self._requirements(item, current.reviewer, history, plant, second)
            self._enforce(conn, current.reviewer, justification, item.draft, need.min_chars, recent)
            spent = elapsed_ms(now - current.claimed_at)
            oversight, state, deliver = self._oversight(
                conn, item, action, result, need, justification, spent, history, plant, mine
            )
            if need.advocate and not advocate:
                raise DecisionError(
                    "this item's policy asks for the devil's advocate after your own "
                    "judgement: see what it says first"
                )
            if advocate:  # by policy, or asked for: what was shown is recorded either way
                if not set(advocate) <= {"text", "model", "error", "asked"}:
                    raise DecisionError("the advocate's record has unknown fields")
                said = {k: checked_text(str(v), "the advocate's text")[:4000]
                        for k, v in advocate.items()}  # fmt: skip
                oversight = {**(oversight or {}), "advocate": said}
            card = self.use_cards.get(item.source)
            if card is not None:  # which AI use card was in force: hashed with the event
                oversight = {**(oversight or {}), "use_card": card}
            if current.resolves is not None:
                # A lead's resolution: linked, hashed, to the escalation it settles.
                if action == "escalate":
                    raise DecisionError(
                        "a lead resolves an escalation with approve, edit, override or reject"
                    )
                oversight = {**(oversight or {}), "resolves": current.resolves}
            values = {"state": state, "stamp": iso(now), "item": item.id, "claim": current.id}
            for sql in _DECIDED:
                deferred(conn, sql, values)
            event = self._append(
                conn,
                head=head_of(read_head.fetchone()),
                item_id=item.id,
                source=item.source,
                external_id=item.external_id,
                claim_id=current.id,
                reviewer=current.reviewer,
                action=action,
                justification=justification,
                output=result,
                reason_code=reason,
                retracts=None,
                shown=seen,
                time_on_item_ms=spent,
                now=now,
                oversight=oversight,
                final=deliver,
            )
            if need.second_reviewer and state == "pending":
                deferred(
                    conn,
                    "INSERT INTO second_reviews (item_id, first_seq, first_reviewer) "
                    "VALUES (?, ?, ?)",
                    (item.id, event.seq, current.reviewer),
                )
            elif need.second_review_of is not None:
                deferred(conn, "DELETE FROM second_reviews WHERE item_id = ?", (item.id,))
            if then is not None:
                then(conn)
            return event

    def last_decision(self, reviewer: str) -> Event | None:
        """The reviewer's newest decision (retractions aside), retractable or not."""
        row = self.conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM ledger WHERE reviewer = ? AND action != 'retract' "
            "ORDER BY seq DESC LIMIT 1",
            (reviewer,),
        ).fetchone()
        return None if row is None else event_from_row(row)

    def recent_justifications(self, reviewer: str) -> list[Recent]:
        """The reviewer's latest justifications, as the repeat rule sees them.

        A dialog fetches these once and judges each keystroke with `store.policy.evaluate`
        (no query per key); `decide` judges again inside its own transaction.
        """
        return self._recent(self.conn, reviewer)

    def events(self, after_seq: int = 0) -> Iterator[Event]:
        """Stream events in chain order (a cursor, not a list: ledgers get long)."""
        with scan(
            self.conn, f"SELECT {EVENT_COLUMNS} FROM ledger WHERE seq > ? ORDER BY seq",
            (after_seq,),
        ) as cursor:  # fmt: skip
            for row in cursor:
                yield event_from_row(row)

    def history(self, item_id: int) -> list[Event]:
        """Every ledger event on one item, newest first.

        In team mode, those the login may read (a pending first decision of someone
        else's is not among them).
        """
        rows = self.conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM ledger WHERE item_id = ? ORDER BY seq DESC",
            (item_id,),
        ).fetchall()
        return [event_from_row(row) for row in rows]

    def event(self, seq: int) -> Event | None:
        """The ledger event with this number, if any (None once archived)."""
        return self._event(self.conn, seq)

    def hash_at(self, seq: int) -> str | None:
        """The hash of event `seq`, live or archived (only its hash stays), if any."""
        from store.chain import hash_at

        return hash_at(self.conn, seq)

    def decision_counts(self) -> dict[str, int]:
        """Ledger events per action (retractions included)."""
        return dict(self.conn.execute(dialect_of(self.conn).action_counts))

    def head(self) -> str:
        """Hash of the last event, or the genesis hash for an empty ledger."""
        return chain_head(self.conn)[1]

    def verify_chain(
        self, since: tuple[int, str] | None = None, *, workers: int = 1
    ) -> ChainReport:
        """Recompute every hash and link; report the first event that does not match.

        `since` (position, hash) starts after a link verified before (a signed
        checkpoint this ledger extends): only the events after it are read. With
        `workers` > 1, a long chain is checked in that many processes
        (`store.chain_split`).

        Raises:
            StoreError: In team mode, the login cannot read every event (a reviewer's
                view is not the chain; a lead's login verifies).
        """
        from store.chain import verify
        from store.chain_split import split_for

        split = split_for(self.url or self.path, workers)
        return verify(self.conn, since, split)

    def _enforce(
        self,
        conn: Connection,
        reviewer: str,
        justification: str,
        draft: str,
        min_chars: int,
        recent: list[Recent] | None = None,
    ) -> None:
        """Refuse a justification the policy refuses (`recent`: read now if not given)."""
        policy = self.policy
        if min_chars != policy.min_chars:
            policy = dataclasses.replace(policy, min_chars=min_chars)
        if recent is None:
            recent = self._recent(conn, reviewer)
        verdict = evaluate(policy, justification, draft=draft, recent=recent)
        if not verdict.ok:
            raise JustificationRefused(cast(str, verdict.rule), verdict.message)

    def _event(self, conn: Connection, seq: int) -> Event | None:
        row = conn.execute(f"SELECT {EVENT_COLUMNS} FROM ledger WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else event_from_row(row)

    def _append(
        self,
        conn: Connection,
        *,
        shown: Shown,
        now: dt.datetime,
        oversight: dict[str, Any] | None,
        final: bool,
        head: tuple[int, str] | None = None,
        **values: Any,
    ) -> Event:
        # The chain head (read now, or by the caller under the write lock): the lock
        # keeps it until this commits.
        fields = chain_link(
            {
                **values,
                "draft_sha256": shown.draft_sha256,
                "shown_confidence": shown.confidence,
                "shown_basis": shown.confidence_basis,
                "shown_limits": limits_json(shown.limits),
                "recorded_at": iso(now),
                "oversight": None if oversight is None else canonical_json(oversight),
            },
            chain_head(conn) if head is None else head,
        )
        # Nothing is read back: on a team database it travels with the next statement.
        deferred(
            conn,
            f"INSERT INTO ledger ({EVENT_COLUMNS}) VALUES ({', '.join('?' * len(EVENT_FIELDS))})",
            [fields[name] for name in EVENT_FIELDS],
        )
        event = event_from_row([fields[name] for name in EVENT_FIELDS])
        if final:
            self._enqueue(conn, event)  # same transaction: recorded and queued, or neither
        return event


_DECIDED: Final = (
    "UPDATE items SET state = :state, claim_id = NULL, updated_at = :stamp "
    "WHERE id = :item AND claim_id = :claim",
    "UPDATE claims SET ended_at = :stamp, end_reason = 'decided' WHERE id = :claim",
)
"""Settle a decided item and end its claim (`:state`, `:stamp`, `:item`, `:claim`).

Nothing reads their row counts (on a team database they go, unanswered, with the event
and the commit): the decision read its claim holding the item under the write lock,
and `Dialect.hold_item` keeps the item's row so until the commit."""


def _not_held(item: Item) -> ClaimError:
    """The claim a decision came through no longer holds its item (read, or re-checked)."""
    return ClaimError(f"{item.external_id} is no longer held by this claim")


def chain_head(conn: Connection) -> tuple[int, str]:
    """(position, hash) of the chain's newest link; (0, genesis) when empty."""
    return head_of(conn.execute(dialect_of(conn).chain_head).fetchone())


def head_of(row: Sequence[Any] | None) -> tuple[int, str]:
    """The chain head from a row of `Dialect.chain_head` (None: an empty ledger)."""
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def event_from_row(row: Sequence[Any]) -> Event:
    """An `Event` from a row selected with `EVENT_FIELDS`."""
    v = dict(zip(EVENT_FIELDS, row, strict=True))
    return Event(
        seq=v["seq"],
        item_id=v["item_id"],
        source=v["source"],
        external_id=v["external_id"],
        claim_id=v["claim_id"],
        reviewer=v["reviewer"],
        action=v["action"],
        justification=v["justification"],
        output=v["output"],
        reason_code=v["reason_code"],
        retracts=v["retracts"],
        shown=Shown(
            v["draft_sha256"],
            v["shown_confidence"],
            v["shown_basis"],
            limits_from_json(v["shown_limits"]),
        ),
        time_on_item_ms=v["time_on_item_ms"],
        recorded_at=parse_iso(v["recorded_at"]),
        prev_hash=v["prev_hash"],
        hash=v["hash"],
        oversight=json.loads(v["oversight"]) if v["oversight"] else None,
    )
