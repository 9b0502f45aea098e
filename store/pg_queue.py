"""The queue's claims on PostgreSQL: many reviewers, never the same item twice.

Team-mode groundwork beside `store.pg_ledger` (the store does not run on PostgreSQL yet):
the dialect SQL the backend will use. A claim is one statement: the next pending item
in review order is locked `FOR UPDATE SKIP LOCKED` (a reviewer never waits for another
one's pick), claimed and returned; a partial index over the pending rows keeps it one
index probe however long the queue is (graphile/worker #240: 242 ms without one).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from store.pg_ledger import append

if TYPE_CHECKING:
    import psycopg

SCHEMA: Final = """
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    external_id text NOT NULL,
    stakes_rank smallint NOT NULL CHECK (stakes_rank BETWEEN 1 AND 3),
    created_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'claimed', 'decided', 'escalated')),
    claim_id bigint,
    UNIQUE (source, external_id)
);
CREATE INDEX items_next ON items (stakes_rank DESC, created_at, id) WHERE state = 'pending';

CREATE TABLE claims (
    id bigserial PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES items(id),
    reviewer text NOT NULL,
    claimed_at timestamptz NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    ended_at timestamptz,
    end_reason text
);
CREATE UNIQUE INDEX claims_one_open_per_item ON claims (item_id) WHERE ended_at IS NULL;
CREATE INDEX claims_open_leases ON claims (lease_expires_at) WHERE ended_at IS NULL;
"""
"""Items and claims (PostgreSQL 14+); the ledger is `store.pg_ledger.SCHEMA`."""

_CLAIM_NEXT: Final = """
WITH picked AS (
    SELECT id FROM items WHERE state = 'pending'
    ORDER BY stakes_rank DESC, created_at, id
    FOR UPDATE SKIP LOCKED LIMIT 1
), claim AS (
    INSERT INTO claims (item_id, reviewer, claimed_at, lease_expires_at)
    SELECT id, %(reviewer)s, now(), now() + %(lease)s FROM picked
    RETURNING id, item_id
)
UPDATE items SET state = 'claimed', claim_id = claim.id
FROM claim WHERE items.id = claim.item_id
RETURNING claim.id, items.id, items.source, items.external_id
"""


def create(conn: psycopg.Connection[Any]) -> None:
    """Create items and claims in a database that has the ledger (or not yet)."""
    with conn.transaction():
        conn.execute(SCHEMA)


_EXPIRE: Final = """
WITH gone AS (
    UPDATE claims SET ended_at = now(), end_reason = 'expired'
    WHERE ended_at IS NULL AND lease_expires_at < now()
    RETURNING id, item_id
)
UPDATE items SET state = 'pending', claim_id = NULL
FROM gone WHERE items.id = gone.item_id AND items.claim_id = gone.id
"""


def claim_next(
    conn: psycopg.Connection[Any], reviewer: str, lease: dt.timedelta
) -> tuple[int, int, str, str] | None:
    """Claim the next pending item: (claim id, item id, source, external id), or None.

    Claims whose lease ran out (a reviewer who vanished, a killed process) end first and
    give their items back, in the same transaction; expiry is never a ledger event.
    """
    with conn.transaction():
        conn.execute(_EXPIRE)
        row = conn.execute(_CLAIM_NEXT, {"reviewer": reviewer, "lease": lease}).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), str(row[2]), str(row[3]))


def renew(conn: psycopg.Connection[Any], claim_id: int, lease: dt.timedelta) -> bool:
    """Extend an open, unexpired claim by `lease` from now; False if it has ended."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE claims SET lease_expires_at = now() + %s "
            "WHERE id = %s AND ended_at IS NULL AND lease_expires_at >= now() RETURNING id",
            (lease, claim_id),
        ).fetchone()
    return row is not None


def release(conn: psycopg.Connection[Any], claim_id: int) -> bool:
    """Give the item back without a decision; False if the claim had already ended."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE claims SET ended_at = now(), end_reason = 'released' "
            "WHERE id = %s AND ended_at IS NULL RETURNING item_id",
            (claim_id,),
        ).fetchone()
        if row is not None:
            conn.execute(
                "UPDATE items SET state = 'pending', claim_id = NULL "
                "WHERE id = %s AND claim_id = %s",
                (row[0], claim_id),
            )
    return row is not None


def record(
    conn: psycopg.Connection[Any], claim_id: int, event: dict[str, Any], state: str
) -> tuple[int, str]:
    """Append the claim's event and end the claim, in one transaction: both or neither.

    Refuses (a raised error, nothing written) a claim that has ended or is not the
    item's current one, so no item is ever decided twice.
    """
    with conn.transaction():
        held = conn.execute(
            "UPDATE claims SET ended_at = now(), end_reason = 'decided' "
            "WHERE id = %s AND ended_at IS NULL RETURNING item_id",
            (claim_id,),
        ).fetchone()
        if held is None:
            raise LookupError(f"claim {claim_id} has ended; nothing recorded")
        moved = conn.execute(
            "UPDATE items SET state = %s WHERE id = %s AND claim_id = %s AND state = 'claimed'",
            (state, held[0], claim_id),
        ).rowcount
        if moved != 1:
            raise LookupError(f"claim {claim_id} no longer holds its item; nothing recorded")
        return append(conn, {**event, "item_id": held[0], "claim_id": claim_id})
