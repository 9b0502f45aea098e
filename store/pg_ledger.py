"""The ledger's hash chain on PostgreSQL: one link at a time, however many writers.

The first piece of team mode (the store does not run on PostgreSQL yet). Measured on
PostgreSQL 15 here (shared/design/team-mode.md): a trigger that reads the newest hash
without a lock forked about 500 of 2,000 links under 8 writers; an advisory lock with
"newest by sequence" still 5-13 (the sequence value is drawn before the lock). What
holds: every writer locks the one-row `chain_head` `FOR UPDATE` and takes both the
previous hash and the position from it. The hash is the SQLite ledger's own
(`store.ledger.event_hash`): one rule, two engines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from store.codec import GENESIS_HASH
from store.ledger import EVENT_FIELDS, chain_link, event_hash

if TYPE_CHECKING:
    import psycopg

SCHEMA: Final = f"""
CREATE TABLE chain_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    position bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO chain_head VALUES (1, 0, '{GENESIS_HASH}');

CREATE TABLE ledger (
    seq bigint PRIMARY KEY,
    item_id bigint NOT NULL,
    source text NOT NULL,
    external_id text NOT NULL,
    claim_id bigint,
    reviewer text NOT NULL CHECK (length(reviewer) BETWEEN 1 AND 100),
    action text NOT NULL
        CHECK (action IN ('approve', 'edit', 'override', 'reject', 'escalate', 'retract')),
    justification text NOT NULL
        CHECK (length(btrim(justification, E' \t\n\r')) >= 10),
    output text,
    reason_code text,
    retracts bigint REFERENCES ledger(seq),
    draft_sha256 text NOT NULL,
    shown_confidence double precision,
    shown_basis text NOT NULL,
    shown_limits text NOT NULL CHECK (shown_limits::jsonb IS NOT NULL),
    time_on_item_ms bigint NOT NULL CHECK (time_on_item_ms >= 0),
    recorded_at text NOT NULL,
    prev_hash text NOT NULL CHECK (length(prev_hash) = 64),
    oversight text,
    hash text NOT NULL UNIQUE CHECK (length(hash) = 64),
    -- The SQLite ledger's own rules (store/migrations.py m001), word for word.
    CHECK (action NOT IN ('override', 'reject') OR reason_code IS NOT NULL),
    CHECK ((action IN ('approve', 'edit', 'override')) = (output IS NOT NULL)),
    CHECK ((action = 'retract') = (retracts IS NOT NULL)),
    CHECK ((action = 'retract') = (claim_id IS NULL))
);
-- One decision per claim, one retraction per event, as on SQLite.
CREATE UNIQUE INDEX ledger_one_decision_per_claim ON ledger (claim_id) WHERE claim_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_one_retract_per_event ON ledger (retracts) WHERE retracts IS NOT NULL;
CREATE INDEX ledger_item ON ledger (item_id, seq);
CREATE INDEX ledger_reviewer ON ledger (reviewer, seq);

-- Every insert must be the next link: position + 1 and the head's hash. The head moves
-- in the same transaction, under the row lock the writer took before hashing.
CREATE FUNCTION ledger_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE head chain_head%ROWTYPE;
BEGIN
    SELECT * INTO head FROM chain_head WHERE id = 1 FOR UPDATE;
    IF NEW.seq <> head.position + 1 OR NEW.prev_hash <> head.hash THEN
        RAISE EXCEPTION 'ledger event % is not the next link of the chain', NEW.seq;
    END IF;
    UPDATE chain_head SET position = NEW.seq, hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_link BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_link();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER chain_head_kept BEFORE DELETE OR TRUNCATE ON chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
"""
"""The ledger and its chain head (PostgreSQL 14+)."""

_INSERT: Final = (
    f"INSERT INTO ledger ({', '.join(EVENT_FIELDS)}) "
    f"VALUES ({', '.join(['%s'] * len(EVENT_FIELDS))})"
)


def create(conn: psycopg.Connection[Any]) -> None:
    """Create the ledger and its chain head in an empty database."""
    with conn.transaction():
        conn.execute(SCHEMA)


def append(conn: psycopg.Connection[Any], fields: dict[str, Any]) -> tuple[int, str]:
    """Append one event; returns its (seq, hash).

    `fields` holds every hashed field except `seq` and `prev_hash`, which come from
    the chain head, locked for the rest of the transaction: a concurrent writer waits
    here, then links to this event, never beside it.
    """
    with conn.transaction():
        position, prev = conn.execute(
            "SELECT position, hash FROM chain_head WHERE id = 1 FOR UPDATE"
        ).fetchone() or (0, GENESIS_HASH)
        row = chain_link(fields, (int(position), str(prev)))
        conn.execute(_INSERT, [row[name] for name in EVENT_FIELDS])
    return int(row["seq"]), str(row["hash"])


def broken_links(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """(events, links that do not hold): a gap, a wrong `prev_hash`, a bad hash."""
    events = broken = 0
    expected_seq, expected_prev = 1, GENESIS_HASH
    cursor = conn.execute(f"SELECT {', '.join(EVENT_FIELDS)} FROM ledger ORDER BY seq")
    for values in cursor:
        row = dict(zip(EVENT_FIELDS, values, strict=True))
        events += 1
        if (
            row["seq"] != expected_seq
            or row["prev_hash"] != expected_prev
            or row["hash"] != event_hash(row)
        ):
            broken += 1
        expected_seq, expected_prev = row["seq"] + 1, row["hash"]
    return events, broken
