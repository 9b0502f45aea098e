"""Where catch trials come from and where they go: their bases, neighbours and times.

A plant mutates a random pending real item (its base, `pick_bases`) and takes a place
in the queue beside another (`place_group`): an id in the style of its neighbours' and
a time just after one of them, so neither its id nor its place gives it away. Every
read here is one statement for a whole group of plants (`unioned`): on a team database
each statement is a round trip.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from providers.base import STAKES_RANK, Draft, Stakes
from store.clock import parse_iso
from store.dialect import dialect_of
from store.plant_ids import IdFormats, lookalike
from store.queue import ITEM_COLUMNS

if TYPE_CHECKING:
    from store.db import Connection


_AT = {name: at for at, name in enumerate(ITEM_COLUMNS)}


@dataclass(frozen=True, slots=True)
class Base:
    """A real item a catch trial mutates, as `pick_bases` read it: its row (`ITEM_COLUMNS`).

    Not an `Item`: a plant copies most of its base's columns as stored, and making an
    Item of each (three times parsed, three JSON columns decoded, twenty-one fields
    set) was ~0.8 s of planting 52k at a million items (`store.plants`).
    """

    row: Sequence[Any]

    def __getitem__(self, column: str) -> Any:
        """The stored value of one of `ITEM_COLUMNS`."""
        return self.row[_AT[column]]

    @property
    def id(self) -> int:
        """The base's item id."""
        return int(self["id"])

    @property
    def source(self) -> str:
        """The base's source."""
        return str(self["source"])

    @property
    def stakes(self) -> Stakes:
        """The base's stakes."""
        return cast(Stakes, self["stakes"])


def place_one(
    conn: Connection,
    origin: Base | Draft,
    rng: random.Random,
    formats: IdFormats,
    span: IdSpan | None,
) -> tuple[str, dt.datetime | None]:
    """A catch trial's place: (lookalike id, created_at) (see `place_group`)."""
    found = place_group(conn, [origin], rng, formats, span)[0]
    assert found is not None  # with `past_end` (the default), every plant gets a place
    return found


def place_group(
    conn: Connection,
    origins: Sequence[Base | Draft],
    rng: random.Random,
    formats: IdFormats,
    span: IdSpan | None,
    *,
    near: IdSpan | None = None,
    past_end: bool = True,
) -> list[tuple[str, dt.datetime | None] | None]:
    """Catch trials' places: (lookalike id, created_at) for each, none taken twice.

    An origin is the real item a plant mutates, or the known-bad draft it is. Its id is
    in the style of the item's id, or of a random neighbour's of the same source and
    stakes (sought among the ids `near` first, when given); its time is a known-bad
    draft's own, else beside that neighbour, else the item's. Neighbours and times are
    read for the whole group in one statement each: on a team database every statement
    is a round trip, and one each a plant made planting over a VPN ~100 ms a plant.
    Without `past_end` (planting during an import), None for a plant whose id would go
    after its source's range (`lookalike`'s): planting after the import makes it.
    """
    wants = [(o.source, o.stakes) for o in origins]
    neighbours = pick_neighbours(conn, wants, rng, span, near=near)
    chosen: dict[str, set[str]] = {}  # ids this group takes, not inserted yet
    places: list[tuple[str, dt.datetime | None] | None] = []
    beside: list[tuple[int, str, str]] = []  # (place, stakes, neighbour's time)
    for origin, neighbour in zip(origins, neighbours, strict=True):
        if isinstance(origin, Base):
            model_id, created = str(origin["external_id"]), None
        else:
            model_id = neighbour[0] if neighbour else origin.external_id
            created = origin.created_at
        taken = chosen.setdefault(origin.source, set())
        ext = lookalike(
            conn, origin.source, model_id, rng, avoid=taken, formats=formats,
            past_end=past_end,
        )  # fmt: skip
        if ext is None:
            places.append(None)
            continue
        taken.add(ext)
        if created is None and neighbour is not None:
            # Beside a random real item of the same stakes, far from its base: its place
            # in the queue gives nothing away.
            beside.append((len(places), origin.stakes, neighbour[1]))
        elif created is None and isinstance(origin, Base):
            created = parse_iso(origin["created_at"])
        places.append((ext, created))
    times = _besides(conn, [(stakes, at) for _, stakes, at in beside], rng)
    for (at, _, _), when in zip(beside, times, strict=True):
        placed = places[at]
        assert placed is not None  # only placed plants are in `beside`
        places[at] = (placed[0], when)
    return places


def unioned(rows: Sequence[Sequence[object]], names: str) -> tuple[str, list[object]]:
    """`SELECT ? AS a, ? AS b UNION ALL SELECT ?, ? …`: a table of `rows` for one statement.

    Written so for both engines (SQLite names no columns of a bare `VALUES`).
    """
    width = len(names.split(","))
    marks = ", ".join("?" * width)
    first = ", ".join(f"? AS {name.strip()}" for name in names.split(","))
    sql = " UNION ALL ".join([f"SELECT {first}"] + [f"SELECT {marks}"] * (len(rows) - 1))
    return sql, [value for row in rows for value in row]


def pick_bases(
    conn: Connection, rng: random.Random, count: int, span: IdSpan | None, seen: Collection[int]
) -> list[Base]:
    """Pending real items never used as a base, picked at random by id: `count` picks.

    Seeded by the caller's `rng` (SQLite's random() is not), one index probe per pick
    however long the queue is, all picks in one statement. An item picked twice, or in
    `seen`, is left out. In the order picked.
    """
    if span is None or count <= 0:
        return []
    low, high = span
    plus = dialect_of(conn).unindexed
    picks, args = unioned([(n, rng.randint(low, high)) for n in range(count)], "n, from_id")
    rows = conn.execute(
        # SQLite's `+state` (see store.dialect): without it, 15 s of a 40k import's
        # planting went on sorting pending items by id. The plants' `>= w.from_id` only
        # says what `= b.id` implies, for PostgreSQL's planner, which does not infer it:
        # without it, each `NOT EXISTS` became a merge anti-join that read the plants'
        # index from its first entry up to the pick's start, for every pick (35,000
        # buffers a group at 100k items and 5,263 plants; a top-up of 300k items 36.5 s,
        # 16.5 s with it). With it the merge starts at the pick; SQLite probes either way.
        f"SELECT w.n, {', '.join('i.' + c for c in ITEM_COLUMNS)} FROM ({picks}) AS w "
        "JOIN items AS i ON i.id = (SELECT id FROM items AS b "
        f"WHERE id >= w.from_id AND {plus}state = 'pending' "
        "AND NOT EXISTS (SELECT 1 FROM plants AS p "
        "WHERE p.item_id = b.id AND p.item_id >= w.from_id) "
        "AND NOT EXISTS (SELECT 1 FROM plants AS p "
        "WHERE p.base_item_id = b.id AND p.base_item_id >= w.from_id) "
        "ORDER BY id LIMIT 1)",
        args,
    ).fetchall()
    picked: dict[int, Base] = {}
    for row in sorted(rows, key=lambda r: int(r[0])):
        if row[1] not in seen and row[1] not in picked:
            picked[row[1]] = Base(row[1:])
    return list(picked.values())


def pick_neighbours(
    conn: Connection,
    wants: Sequence[tuple[str, str]],
    rng: random.Random,
    span: IdSpan | None,
    *,
    near: IdSpan | None = None,
) -> list[tuple[str, str] | None]:
    """For each (source, stakes): a random pending real item of it (external id, created_at).

    A plant takes its neighbour's place in the queue, so the neighbour is drawn from the
    whole queue: windows of `_WINDOW` ids from a random id, as `pick_bases` draws (uniform
    over the items, a bounded read however long the queue). Each round tries one window
    for every want still unmet, in one statement. Taking one of the first 200 of the
    stakes level put a whole run's plants together at the head of the queue (137 of
    158 in its first tenth). A source too sparse for `_WINDOWS` windows to meet falls
    back to its first 200 in queue order: clustered, but only its own few plants.

    With `near` (an import's batch, `Planting`; a planting run's stretch of the queue,
    `plants._Walk`), `_NEAR_WINDOWS` windows are tried there first: a batch's plants
    then sit among its items, spread through the import as it goes (from the whole
    queue so far, the first batches' few items would draw far more plants than the
    last's), and a run's transactions each write to one stretch of the queue.
    """
    found: list[tuple[str, str] | None] = [None] * len(wants)
    if span is None:
        return found
    plus = dialect_of(conn).unindexed
    unmet = list(range(len(wants)))
    rounds = [near] * _NEAR_WINDOWS if near is not None else []
    for low, high in [*rounds, *[span] * _WINDOWS]:
        if not unmet:
            break
        starts = [rng.randint(low, high) for _ in unmet]
        windows, args = unioned(
            [(n, start, start + _WINDOW, STAKES_RANK[wants[n][1]], wants[n][0])
             for n, start in zip(unmet, starts, strict=True)],
            "n, low, high, rnk, src",
        )  # fmt: skip
        rows = conn.execute(
            # A range of ids, walked by id to the first match: a window of the first 256
            # rows from `start` (a subquery with its own LIMIT) was read whole and sorted
            # again by SQLite for the outer `ORDER BY` (150 µs a window; now ~10).
            f"SELECT w.n, i.external_id, i.created_at FROM ({windows}) AS w "
            "JOIN items AS i ON i.id = (SELECT id FROM items AS x "
            f"WHERE id >= w.low AND id < w.high AND {plus}state = 'pending' "
            f"AND {plus}stakes_rank = w.rnk AND {plus}source = w.src "
            "AND NOT EXISTS (SELECT 1 FROM plants AS p "
            "WHERE p.item_id = x.id AND p.item_id >= w.low) "  # as in `pick_bases`
            "ORDER BY id LIMIT 1)",
            args,
        ).fetchall()
        for n, external_id, created_at in rows:
            found[int(n)] = (external_id, created_at)
        unmet = [n for n in unmet if found[n] is None]
    for n in unmet:
        found[n] = _first_of_level(conn, *wants[n], rng)
    return found


def _first_of_level(
    conn: Connection, source: str, stakes: str, rng: random.Random
) -> tuple[str, str] | None:
    """A random one of the source's first 200 pending items at these stakes (the fallback)."""
    # `stakes_rank`, not `stakes`: the pending index is ordered by it, so this seeks to
    # the stakes level. By `stakes` it walked every pending item of higher stakes first:
    # 170 ms a plant at a million items, 3 hours for the 5 % an import of a million plants.
    rows: Sequence[tuple[str, str]] = conn.execute(
        "SELECT external_id, created_at FROM items WHERE state = 'pending' "
        "AND stakes_rank = ? AND source = ? AND id NOT IN (SELECT item_id FROM plants) "
        "LIMIT 200",
        (STAKES_RANK[stakes], source),
    ).fetchall()
    return rng.choice(rows) if rows else None


IdSpan = tuple[int, int]
"""The smallest and largest item id when a planting run starts: where it draws from."""


def id_span(conn: Connection) -> IdSpan | None:
    """The smallest and largest item id (None without items): two index probes, once a run.

    Not `SELECT min(id), max(id)`: SQLite answers a lone `min` or `max` from the index,
    both together by reading every row (7 ms at 100k items; it once ran for each plant).
    """
    row = conn.execute("SELECT (SELECT min(id) FROM items), (SELECT max(id) FROM items)")
    low, high = row.fetchone()
    return None if low is None else (int(low), int(high))


def _besides(
    conn: Connection, wants: Sequence[tuple[str, str]], rng: random.Random
) -> list[dt.datetime]:
    """For each (stakes, created_at): a time just after it, before the next pending item.

    The next pending item of those stakes, for all of them in one statement. Whole
    seconds (up to 59) are added, so the time is written as precisely as the
    neighbour's; none when the next item is less than a second later. An import without
    times stamps its items a batch at a time: a fixed 1-59 s passed thousands of them,
    and a run's plants piled up after the last real item of each stakes level.
    """
    if not wants:
        return []
    after, args = unioned(
        [(n, STAKES_RANK[stakes], at) for n, (stakes, at) in enumerate(wants)], "n, rnk, since"
    )
    nexts = dict(
        conn.execute(
            f"SELECT w.n, (SELECT created_at FROM items WHERE state = 'pending' "
            f"AND stakes_rank = w.rnk AND created_at > w.since ORDER BY created_at LIMIT 1) "
            f"FROM ({after}) AS w",
            args,
        ).fetchall()
    )
    times = []
    for n, (_, at) in enumerate(wants):
        start, following = parse_iso(at), nexts.get(n)
        room = 59 if following is None else int((parse_iso(following) - start).total_seconds())
        times.append(start + dt.timedelta(seconds=rng.randint(0, min(59, room)) if room > 0 else 0))
    return times


_WINDOW = 256
"""Ids walked from a random start in search of a neighbour (~10 µs on SQLite)."""
_WINDOWS = 8
"""Random windows tried before the fallback: a source and stakes level with one item in
a thousand of the queue is met 87 % of the time."""
_NEAR_WINDOWS = 2
"""Random windows tried in `pick_neighbours`' `near` (an import's batch, a planting run's
stretch) before the whole queue: a window spans about half of a 500-item batch, so a
level with 2 % of it is met ~99 %."""
