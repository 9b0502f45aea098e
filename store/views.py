"""Read-only views for the review app: a keyset-paged window on the queue.

The queue screen never loads the queue: it asks for the page after (or before) the
row it shows last (first). Each stakes level is one index range (stakes first, then
oldest), or for the open queue two, its pending and its claimed items, merged; so a
page costs the same at row 10 as at row 900,000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from providers.base import STAKES_RANK, ConfidenceBasis, Stakes
from store.clock import iso, parse_iso
from store.models import ItemState
from store.search import Search, search_clause

if TYPE_CHECKING:
    from store.db import Connection

StatusFilter = Literal["open", "pending", "claimed", "decided", "escalated", "second review"]
"""`open` is pending and claimed together: what is still to be decided. `second review`:
pending items one reviewer approved that wait for a second (the two-person rule)."""
ConfidenceBin = Literal["<0.5", "0.5-0.7", "0.7-0.9", ">=0.9", "unknown"]
"""Confidence bands, as in the calibration report."""

STATUS_FILTERS: Final[tuple[StatusFilter, ...]] = (
    "open", "pending", "claimed", "decided", "escalated", "second review",
)  # fmt: skip
BINS: Final[tuple[ConfidenceBin, ...]] = ("<0.5", "0.5-0.7", "0.7-0.9", ">=0.9", "unknown")
"""Confidence bins of the queue filter and the calibration figures (finer than the
oversight policy's `low`/`medium`/`high` bands, which decide friction)."""
_BAND_SQL: Final[dict[str, str]] = {
    "<0.5": "confidence < 0.5",
    "0.5-0.7": "confidence >= 0.5 AND confidence < 0.7",
    "0.7-0.9": "confidence >= 0.7 AND confidence < 0.9",
    ">=0.9": "confidence >= 0.9",
    "unknown": "confidence IS NULL",
}


def band_sql(column: str) -> str:
    """A SQL expression naming the bin of `BINS` the confidence in `column` falls in."""
    cases = " ".join(
        f"WHEN {condition.replace('confidence', column)} THEN '{name}'"
        for name, condition in _BAND_SQL.items()
    )
    return f"CASE {cases} END"


RowKey = tuple[int, str, int]
"""A row's place in review order: (stakes rank, created_at, id)."""
_LEVELS: Final = (3, 2, 1)  # stakes_rank, highest first: the review order
_RANK: Final = STAKES_RANK


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the queue screen shows; every field narrows the list."""

    status: StatusFilter = "open"
    source: str | None = None
    kind: str | None = None
    stakes: Stakes | None = None
    band: ConfidenceBin | None = None
    search: str = ""
    """Case-insensitive substring of the id, the title or the draft."""

    def describe(self) -> str:
        """A short human summary, e.g. `open · support · high · "refund"`."""
        parts: list[str] = [self.status]
        parts += [v for v in (self.source, self.kind, self.stakes) if v]
        if self.band:
            parts.append(f"confidence {self.band}")
        if self.search:
            parts.append(f"“{self.search}”")
        return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the queue screen (no draft text: rows stay small)."""

    id: int
    source: str
    external_id: str
    kind: str
    title: str
    confidence: float | None
    confidence_basis: ConfidenceBasis
    worst_limit: int
    stakes: Stakes
    created_at: dt.datetime
    state: ItemState
    claimed_by: str | None

    @property
    def key(self) -> RowKey:
        """Position in review order: (stakes rank, created_at as stored, id)."""
        return (_RANK[self.stakes], iso(self.created_at), self.id)


_COLUMNS = (
    "items.id, items.source, items.external_id, items.kind, items.title, items.confidence, "
    "items.confidence_basis, items.worst_limit, items.stakes, items.created_at, items.state, "
    "claims.reviewer"
)
_ID, _CREATED_AT = (_COLUMNS.split(", ").index(c) + 1 for c in ("items.id", "items.created_at"))


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page of the queue: the first, the one after or before a row, or the last."""

    after: RowKey | None = None
    """Key of the row just above the wanted page (None: from the top)."""
    before: RowKey | None = None
    """Key of the row just below the wanted page; rows still come back in review order."""
    from_end: bool = False
    """The last page (reading backwards from the bottom)."""
    limit: int = 50
    """Page size."""


def page(
    conn: Connection, where: QueueFilter, request: PageRequest = PageRequest()
) -> list[QueueRow]:
    """Up to `request.limit` rows in review order, around the row `request` names."""
    after, before, limit = request.after, request.before, request.limit
    backward = before is not None or request.from_end
    anchor = before if backward else after
    levels = [lv for lv in _LEVELS if where.stakes is None or lv == _RANK[where.stakes]]
    if backward:
        levels.reverse()
    if anchor is not None:
        levels = [lv for lv in levels if (lv <= anchor[0] if not backward else lv >= anchor[0])]
    rows: list[QueueRow] = []
    # Built once for all levels: a search probes its index to choose the plan.
    found = search_clause(where.search, conn) if where.search else None
    if where.status == "open":
        # Pending and claimed items apart, merged in order (`_level`): no index of the
        # open items in review order (m003-m021's `items_open`), which an import wrote
        # for every row (~0.8 s of 14.5 at a million). The claimed ones are a handful.
        legs = [
            filter_sql(replace(where, status="pending"), conn, stakes=False, found=found),
            filter_sql(
                replace(where, status="claimed"), conn, stakes=False, found=found, handful=True
            ),
        ]
    else:
        legs = [filter_sql(where, conn, stakes=False, found=found)]
    for level in levels:
        need = limit - len(rows)
        if need <= 0:
            break
        rows.extend(_level(conn, legs, level, anchor, backward, need))
    if backward:
        rows.reverse()
    return rows


Filter = tuple[str, list[str], list[Any]]
"""A filter as SQL (`filter_sql`): the `FROM` item, `WHERE` clauses (ANDed), arguments."""


def _level(
    conn: Connection,
    legs: list[Filter],
    level: int,
    anchor: RowKey | None,
    backward: bool,
    limit: int,
) -> Iterator[QueueRow]:
    clauses: list[str] = ["items.stakes_rank = ?"]
    args: list[Any] = [level]
    if anchor is not None and anchor[0] == level:
        clauses.append(f"(items.created_at, items.id) {'<' if backward else '>'} (?, ?)")
        args += [anchor[1], anchor[2]]
    direction = "DESC" if backward else "ASC"
    order = f"items.created_at {direction}, items.id {direction}"
    selects, bound = [], []
    for table, leg_clauses, leg_args in legs:
        selects.append(
            f"SELECT {_COLUMNS} FROM {table} LEFT JOIN claims ON claims.id = items.claim_id "
            f"WHERE {' AND '.join([*leg_clauses, *clauses])} ORDER BY {order} LIMIT ?"
        )
        bound += [*leg_args, *args, limit]
    sql = selects[0]
    if len(selects) > 1:
        # Each leg's page read from its own index range with its own LIMIT, then the two
        # merged (PostgreSQL: Merge Append; SQLite: each leg's few rows sorted, merged).
        # Without the legs' LIMITs, PostgreSQL sorted every row of both ranges past the
        # anchor: 4.5 ms against 0.07 at 30k items, growing with the queue. A compound's
        # ORDER BY names result columns: by position, which both engines understand.
        legs_sql = (f"SELECT * FROM ({leg}) AS s{n}" for n, leg in enumerate(selects))
        merged = " UNION ALL ".join(legs_sql)
        sql = f"{merged} ORDER BY {_CREATED_AT} {direction}, {_ID} {direction} LIMIT ?"
        bound.append(limit)
    for row in conn.execute(sql, bound):
        yield QueueRow(
            id=row[0],
            source=row[1],
            external_id=row[2],
            kind=row[3],
            title=row[4],
            confidence=row[5],
            confidence_basis=cast(ConfidenceBasis, row[6]),
            worst_limit=row[7],
            stakes=cast(Stakes, row[8]),
            created_at=parse_iso(row[9]),
            state=cast(ItemState, row[10]),
            claimed_by=row[11],
        )


def filter_sql(
    where: QueueFilter,
    conn: Connection,
    *,
    stakes: bool = True,
    counting: bool = False,
    handful: bool = False,
    found: Search | None = None,
) -> Filter:
    """The filter as a `FROM` item, `WHERE` clauses over `items` (ANDed) and their arguments.

    `stakes=False` leaves the stakes out (`page` walks one stakes level at a time). The
    `FROM` item is `items`, or `items NOT INDEXED` for a search with few matches, or for
    any search answered from the index when `counting` (`store.search.Search`).
    `handful`: the status has few items (claimed ones); a search is tested on each,
    not asked of its index (`Search.by_row`). `found`: the search's clause if made
    already (a page makes it once: it probes the index).
    """
    table = "items"
    # Open as one clause is for counting (`matching`): pages read the two states apart.
    args: list[Any] = []
    if where.status == "open":
        clauses = ["(items.state = 'pending' OR items.state = 'claimed')"]
    elif where.status == "second review":
        clauses = [
            "items.state = 'pending'",
            "EXISTS (SELECT 1 FROM second_reviews AS s WHERE s.item_id = items.id)",
        ]
    else:
        clauses, args = ["items.state = ?"], [where.status]
    if where.source:
        clauses.append("items.source = ?")
        args.append(where.source)
    if where.kind:
        clauses.append("items.kind = ?")
        args.append(where.kind)
    if stakes and where.stakes:
        clauses.append("items.stakes_rank = ?")
        args.append(_RANK[where.stakes])
    if where.band:
        clauses.append(_BAND_SQL[where.band].replace("confidence", "items.confidence"))
    if where.search:
        found = found or search_clause(where.search, conn)
        if handful:
            clause, clause_args = found.for_rows()
            clauses.append(clause)
            args += clause_args
        else:
            clauses.append(found.clause)
            args += found.args
            table = found.counted if counting else found.table
    return table, clauses, args


def matching(conn: Connection, where: QueueFilter) -> int:
    """How many items the filter matches (the queue says so beside a search)."""
    table, clauses, args = filter_sql(where, conn, counting=True)
    sql = f"SELECT count(*) FROM {table} WHERE {' AND '.join(clauses)}"
    return int(conn.execute(sql, args).fetchone()[0])


def sources(conn: Connection) -> list[str]:
    """Sources that have items, for the filter menu (from the small counts table)."""
    return [r[0] for r in conn.execute("SELECT DISTINCT source FROM item_counts WHERE n > 0")]
