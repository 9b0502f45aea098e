"""Verifying the ledger's hash chain, across archive cuts (`store.archive`).

Every link and hash is recomputed in chain order; events moved to an archive file are
checked by the (seq, previous hash, hash) they left behind, so the chain still links from
the first event; their content is checked against the file (`verify --manifest`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from store.codec import GENESIS_HASH, first_break
from store.dialect import dialect_of, stream
from store.errors import StoreError
from store.ledger import EVENT_COLUMNS, EVENT_FIELDS, chain_head, row_hasher
from store.models import ChainReport

if TYPE_CHECKING:
    from store.chain_split import Split
    from store.db import Connection


class Checked(NamedTuple):
    """What a check of a range of events found (`check_range`)."""

    reached: int
    """The position reached."""
    last: str
    """The hash of the last event that held."""
    problem: str
    """What is wrong at the event after `reached` ("" when every event held)."""
    linked: str
    """The hash the range's first event had to link to."""


def verify(
    conn: Connection, since: tuple[int, str] | None = None, split: Split | None = None
) -> ChainReport:
    """Recompute every hash and link (after `since`, a link verified before, if given).

    With `split`, ranges of a long ledger are checked in processes of their own
    (`store.chain_split`); the report is the same.

    Raises:
        StoreError: In team mode, the login cannot read every event.
    """
    if since is None:
        since, broken = _archived_links(conn)  # events moved to an archive file
        if broken is not None:
            return broken
    count, expected_prev = since or (0, GENESIS_HASH)
    total = conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
    if dialect_of(conn).partial_views:
        length = chain_head(conn)[0]
        if total + _archived_count(conn) < length:
            raise StoreError(
                f"your login can read {total:,} of the ledger's {length:,} events; "
                "verify with a lead's login"
            )
    if split is not None:  # as far as the ranges held; on from there here (new events too)
        from store.chain_split import held_through

        count, expected_prev = held_through(conn, (count, expected_prev), split)
    count, last, problem = _walk(conn, (count, expected_prev), None)
    if problem:
        return ChainReport(
            ok=False,
            events=total,
            head=chain_head(conn)[1],
            first_bad_seq=count,
            affected=total - count + 1,
            problem=problem,
        )
    return ChainReport(ok=True, events=count, head=last)


def check_range(conn: Connection, after: int, through: int, linked: str | None) -> Checked:
    """Check the events after position `after` through `through`.

    Each must be the next position, link to the one before and hash to its own hash;
    the first must link to `linked` (None: to the hash event `after` holds, read
    here). Fewer events than the range holds is a problem too.
    """
    if linked is None:
        linked = hash_at(conn, after) or ""
    reached, last, problem = _walk(conn, (after, linked), through)
    if not problem and reached != through:
        problem = f"events {reached + 1} to {through} are missing"
    return Checked(reached, last, problem, linked)


def _walk(conn: Connection, start: tuple[int, str], through: int | None) -> tuple[int, str, str]:
    """`first_break` over the live events after `start` (through `through`, if given)."""
    bound, args = ("", (start[0],)) if through is None else ("AND seq <= ? ", (start[0], through))
    with stream(
        conn, f"SELECT {EVENT_COLUMNS} FROM ledger WHERE seq > ? {bound}ORDER BY seq", args
    ) as cursor:
        return first_break(cursor, EVENT_FIELDS, row_hasher(EVENT_FIELDS), start, "event")


def hash_at(conn: Connection, seq: int) -> str | None:
    """The hash of event `seq`, in the ledger or among the archived; None if neither."""
    row = conn.execute(
        "SELECT hash FROM ledger WHERE seq = ? UNION ALL SELECT hash FROM archived WHERE seq = ?",
        (seq, seq),
    ).fetchone()
    return None if row is None else str(row[0])


def _archived_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM archived").fetchone()[0])


def _archived_links(conn: Connection) -> tuple[tuple[int, str] | None, ChainReport | None]:
    """Check the kept hashes of archived events link from the first event to the cut.

    Returns (the cut's (position, hash) to verify on from, None), or (None, the report
    of the first broken link). Their content is in the archive file (`verify --archive`).
    """
    cut = conn.execute(
        "SELECT through_seq, through_hash FROM archive_cuts ORDER BY through_seq DESC LIMIT 1"
    ).fetchone()
    if cut is None:
        return None, None
    position, expected = 0, GENESIS_HASH
    with stream(conn, "SELECT seq, prev_hash, hash FROM archived ORDER BY seq") as cursor:
        for seq, prev_hash, digest in cursor:
            position += 1
            if seq != position or prev_hash != expected:
                problem = f"the archived events' hashes do not link at event {position}"
                return None, ChainReport(False, position, expected, position, 0, problem)
            expected = digest
    if (position, expected) != (int(cut[0]), str(cut[1])):
        problem = f"the archived hashes end at event {position}, not at the cut {cut[0]}"
        return None, ChainReport(False, position, expected, position, 0, problem)
    return (position, expected), None
