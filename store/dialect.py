"""The SQL that differs between the engines, one `Dialect` per engine, in one place.

Everything else the store runs is SQL both engines accept. These are the exceptions:
where PostgreSQL keeps a chain-head row and SQLite reads the newest event; where team
mode hides rows from reviewers and answers through functions (`store.pg_schema`); and
one planner hint SQLite needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from store.pg import Params


@dataclass(frozen=True, slots=True)
class Dialect:
    """One engine's versions of the statements that differ."""

    name: str
    chain_head: str
    """(position, hash) of the ledger's newest link; no row for an empty SQLite ledger."""
    plant_of: str
    """A `LEFT JOIN` giving item `i` its plant as `p` (mutation, detail), NULLs if none."""
    plant_of_event: str
    """`FROM` clause: the plant of event `e`'s item (for a `NOT EXISTS`)."""
    first_decision: str
    """(action, output, reviewer) of ledger event `?`, the first of a two-person pair."""
    unindexed: str
    """Put before a column a walk by id tests, to keep the planner off that column's index."""
    partial_views: bool
    """Whether a login may see only part of the ledger (team mode's row security)."""
    settled_plant: str
    """`FROM` clause: the plant (mutation) of item `?` once decided (practice's truth)."""
    hold_item: str
    """Put after a read of item `i` in a write: no other transaction may change its row
    until this one ends (PostgreSQL's claims take no write lock, only row locks)."""
    action_counts: str
    """(action, events) of every action the login can see events of (`signoff status`)."""
    event_model: tuple[str, str]
    """(joins after `FROM ledger AS e`, column): each event's model (`store.stats`)."""


ITEMS_OF_EVENTS: Final = "JOIN items AS i ON i.id = e.item_id"
"""Each event `e`'s item as `i`."""

SQLITE: Final = Dialect(
    name="sqlite",
    chain_head="SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
    plant_of="LEFT JOIN plants AS p ON p.item_id = i.id",
    plant_of_event="plants AS p WHERE p.item_id = e.item_id",
    first_decision="SELECT action, output, reviewer FROM ledger WHERE seq = ?",
    # `+state`: walk the rowid from a random point. Left to itself SQLite took the state
    # index and sorted every pending item by id: 7 ms a pick at 40k items (and the
    # (source, external_id) index for a neighbour's `source = ?`: 6 ms a pick at 100k).
    unindexed="+",
    partial_views=False,
    settled_plant="plants AS p JOIN items AS i ON i.id = p.item_id "
    "WHERE p.item_id = ? AND i.state = 'decided'",
    hold_item="",  # BEGIN IMMEDIATE: no other writer until the commit
    # Kept by the ledger's triggers (m017): a count over a million index entries was
    # ~80 ms of `signoff status`'s ~0.5 s.
    action_counts="SELECT action, n FROM ledger_counts WHERE n > 0",
    # Kept beside the ledger (m019): joined to `items` for its model, a statistics pass
    # at a million events read the items table too (~0.8-1.5 s of ~6 s).
    event_model=("LEFT JOIN ledger_models AS m ON m.seq = e.seq", "m.model"),
)

POSTGRESQL: Final = Dialect(
    name="postgresql",
    # Reviewers may read the head row, never lock it: the link trigger locks and checks.
    chain_head="SELECT position, hash FROM chain_head WHERE id = 1",
    # Reviewers cannot read `plants` or a pending first decision; these functions answer
    # the claim holder (and leads) only.
    plant_of="LEFT JOIN LATERAL signoff_plant(i.id) AS p ON true",
    plant_of_event="signoff_plant(e.item_id)",
    first_decision="SELECT action, output, reviewer FROM signoff_first_decision(?)",
    unindexed="",  # no unary + on text; its planner walks the primary key anyway
    partial_views=True,
    settled_plant="signoff_settled_plant(?)",
    hold_item=" FOR UPDATE OF i",
    # Counted, not kept: row security shows a reviewer only some events, and a kept
    # total would tell them how many others there are (from the `ledger_action` index).
    action_counts="SELECT action, count(*) FROM ledger GROUP BY action",
    event_model=(ITEMS_OF_EVENTS, "i.model"),
)


def dialect_of(conn: object) -> Dialect:
    """The dialect of a store connection."""
    return POSTGRESQL if getattr(conn, "dialect", None) == "postgresql" else SQLITE


@contextmanager
def scan(conn: Any, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
    """A cursor over a result too long to hold: read it by iterating or `fetchmany`.

    SQLite's cursor steps through the result as it is read; PostgreSQL's ordinary one
    fetches it whole first, so there a server-side cursor serves it
    (`store.pg.PgConnection.scan`). Other statements may run on the connection while a
    scan is open (a look-up per row, say).
    """
    if dialect_of(conn) is POSTGRESQL:
        with conn.scan(sql, params) as cursor:
            yield cursor
        return
    cursor = conn.execute(sql, params)
    try:
        yield cursor
    finally:
        cursor.close()


@contextmanager
def stream(conn: Any, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
    """`scan` for a pass that runs nothing else on the connection until it ends.

    On PostgreSQL the server sends the result while it is read, in one round trip
    (`store.pg_rows.streamed`), where a scan asks for each chunk: a statement run on
    the connection meanwhile raises. On SQLite it is a scan.
    """
    if dialect_of(conn) is POSTGRESQL:
        with conn.stream(sql, params) as rows:
            yield rows
        return
    with scan(conn, sql, params) as cursor:
        yield cursor


def together(conn: Any, *statements: tuple[str, Params]) -> list[Any]:
    """Run statements in one round trip: a cursor for each.

    PostgreSQL sends them in one pipeline (`store.pg.PgConnection.execute_together`):
    on a team database each round trip is a wait on the network. SQLite runs them in
    turn, as it would anyway.
    """
    if dialect_of(conn) is POSTGRESQL:
        return list(conn.execute_together(statements))
    return [conn.execute(sql, params) for sql, params in statements]


def deferred(conn: Any, sql: str, params: Params = ()) -> None:
    """In a write transaction: a statement whose result no one reads.

    PostgreSQL sends it with the next statement or the commit (`PgConnection.defer`),
    and its error, if any, is raised there; SQLite runs it now.
    """
    if dialect_of(conn) is POSTGRESQL:
        conn.defer(sql, params)
    else:
        conn.execute(sql, params)


def deferred_many(conn: Any, sql: str, rows: Iterable[Params]) -> None:
    """`deferred` for each of `rows`: SQLite runs them in one `executemany`.

    One call for all the rows, not one each: ~10 µs a row less in Python (catch trials
    are inserted a group at a time). PostgreSQL sends them with the next statement.
    """
    if dialect_of(conn) is POSTGRESQL:
        for params in rows:
            conn.defer(sql, params)
    else:
        conn.executemany(sql, rows)
