"""Catch trials: planted wrong drafts mixed into the queue to measure every reviewer.

A planted item is an ordinary row of `items` (same source, kind, stakes, confidence and
data limits as a real one, an id that looks like its neighbours', a place in the queue
among them); only the `plants` table knows. Its decision is flagged in the ledger, left
out of exports of real decisions, and never delivered to a provider (a trigger refuses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from providers.base import STAKES_RANK, Draft
from providers.tokens import spliced
from store.clock import iso, parse_iso
from store.codec import sha256_text
from store.dialect import deferred_many, dialect_of
from store.ingest import INSERT_ITEM, LOOKUP_CHUNK, count_inserted, dated, prepare
from store.models import Item
from store.mutate import Mutation, mutate
from store.plant_ids import IdFormats, lookalike
from store.queue import ITEM_COLUMNS, QueueMixin, item_from_row
from store.search import index_new

if TYPE_CHECKING:
    from store.db import Connection

PLANT_TXN_S = 0.05
"""Longest a planting transaction holds the write lock: 1,052 plants in one held it
3.9 s, and reviewers' decisions failed with "database is locked" meanwhile."""

YIELD_S = 0.003
"""Pause between planting transactions: other writers poll for the lock every 1 ms."""

KNOWN_BAD = "known-bad"
"""The mutation name of a planted draft taken from a file of known-bad drafts."""


@dataclass(frozen=True, slots=True)
class Planted:
    """One catch trial put into the queue."""

    item_id: int
    external_id: str
    mutation: str
    detail: str


class PlantMixin(QueueMixin):
    """Planting catch trials; mixed into `store.Store`."""

    def plant_count(self) -> tuple[int, int]:
        """(planted items, real items) in the queue, decided or not."""
        planted = self.conn.execute("SELECT count(*) FROM plants").fetchone()[0]
        total = self.conn.execute("SELECT coalesce(sum(n), 0) FROM item_counts").fetchone()[0]
        return planted, total - planted

    def plant(self, rate: float, rng: random.Random) -> list[Planted]:
        """Top the queue up to `rate` planted drafts, mutating random real pending ones.

        Idempotent for a given queue: planted ÷ (planted + real) is brought to the rate
        (rounded), never above, so calling it after every import keeps the mix steady.
        Plants go in short transactions (see `PLANT_TXN_S`): reviewers deciding while a
        lead imports never wait on a long one.
        """
        if rate <= 0:
            return []
        planted, real = self.plant_count()
        wanted = round(real * rate / (1 - rate)) - planted
        if wanted <= 0:
            return []
        run = _Run(left=wanted * 20, span=_id_span(self.conn))  # later ids: its own plants
        done: list[Planted] = []
        with self.bulk():
            while len(done) < wanted and run.left > 0:
                # Not flushed to disk at each commit, as an import's batches (see
                # StoreBase._immediate): plants a power cut takes are planted again by the
                # next top-up. An fsync a transaction was 4.8 of 26 s planting 52k at a
                # million.
                with self._immediate(durable=False) as conn:
                    made = self._plant_some(conn, run, wanted - len(done), rng)
                    count_inserted(conn, (source for source, _ in made))  # not per plant
                    index_new(conn)
                    done += _with_ids(conn, made)
                time.sleep(YIELD_S)  # a gap for a waiting reviewer (StoreBase._begin_immediate)
        return done

    def _plant_some(
        self, conn: Connection, run: _Run, wanted: int, rng: random.Random
    ) -> list[Unnumbered]:
        """One planting transaction's catch trials: groups until `PLANT_TXN_S` is spent.

        One group at least, so a transaction always gets somewhere; after the run's
        first group, a group is as large as the last one's pace fits in the time left.
        """
        made: list[Unnumbered] = []
        started = time.monotonic()
        while len(made) < wanted and (not made or time.monotonic() - started < PLANT_TXN_S):
            need = min(_GROUP, wanted - len(made))
            if run.each:  # no group past the transaction's time: reviewers wait on it
                room = PLANT_TXN_S - (time.monotonic() - started)
                need = max(1, min(need, int(room / run.each)))
            begun = time.monotonic()
            # Picked inside this transaction: still pending and no plant's base, as the
            # pick's query requires.
            group = self._mutated(conn, run, need, rng)
            if not group:
                break
            bases = [base for base, _ in group]
            places = _place_group(conn, bases, rng, run.formats, run.span)
            made += self._insert_plants(conn, [
                # One Draft a plant, built in its place: a second, by `replace`,
                # validated every field again (0.4-1 s of planting 52k at a million).
                (_as_draft(base, change.text, *place), base.id, change.kind, change.detail)
                for (base, change), place in zip(group, places, strict=True)
            ])  # fmt: skip
            run.each = (time.monotonic() - begun) / len(group)
        return made

    def _mutated(
        self, conn: Connection, run: _Run, need: int, rng: random.Random
    ) -> list[tuple[Item, Mutation]]:
        """Up to `need` bases picked at random, each with its mutation (none: no more left)."""
        group: list[tuple[Item, Mutation]] = []
        while len(group) < need and run.left > 0:
            # A quarter more picks than bases wanted: a text draft always mutates, and a
            # pick of an item already used is rare. Twice as many was ~1.5 s of planting
            # 52k at a million; a short round picks again.
            short = need - len(group)
            count = min(run.left, short + short // 4 + 1)
            run.left -= count
            for row in _bases(conn, rng, count, run.span, run.seen):
                if len(group) == need:
                    break
                # Made an Item only when used, not for the spare picks: building one
                # (three times, three JSON columns) was a fifth of planting.
                base = item_from_row(row)
                run.seen.add(base.id)
                labels = base.meta.get("labels")
                change = mutate(
                    base.draft, base.kind, rng, [str(x) for x in labels or ()]
                    if isinstance(labels, list) else (),
                )  # fmt: skip
                if change is not None:
                    group.append((base, change))
        return group

    def plant_drafts(
        self, drafts: Iterable[tuple[Draft, str]], rng: random.Random
    ) -> list[Planted]:
        """Plant known-bad drafts (each with what is wrong with it) as catch trials.

        Each gets a fresh id in the style of its source's ids; one without a
        `created_at` gets a place beside a random real item of its stakes. A draft
        already planted from a file (same source and text) is not planted again, so
        planting a file twice changes nothing.
        """
        made: list[Unnumbered] = []
        formats: IdFormats = {}
        with self._immediate() as conn:
            span = _id_span(conn)
            for draft, flaw in drafts:
                seen = conn.execute(
                    "SELECT 1 FROM plants AS p JOIN items AS i ON i.id = p.item_id "
                    "WHERE p.mutation = ? AND i.source = ? AND i.draft_sha256 = ?",
                    (KNOWN_BAD, draft.source, sha256_text(draft.draft)),
                ).fetchone()
                if seen is None:  # inserted now: the next draft's check must see it
                    ext, created = _place(conn, draft, rng, formats, span)
                    planted = dataclasses.replace(draft, external_id=ext, created_at=created)
                    made += self._insert_plants(conn, [(planted, None, KNOWN_BAD, flaw)])
            count_inserted(conn, (source for source, _ in made))
            index_new(conn)
            return _with_ids(conn, made)

    def _insert_plants(
        self, conn: Connection, plants: Sequence[tuple[Draft, int | None, str, str]]
    ) -> list[Unnumbered]:
        """Insert placed catch trials and mark them planted; `_with_ids` numbers them.

        Each is (draft in its place (`_place`), base item id, mutation, detail). Both
        tables' rows go in one `dialect.deferred_many` each: on SQLite one call for the
        group, not two a plant; on a team database with the next plant's first read,
        where they were two of its ten round trips.
        """
        stamp = iso(self.now())
        deferred_many(
            conn, INSERT_ITEM, [dated(prepare(draft), stamp, stamp) for draft, *_ in plants]
        )
        deferred_many(
            conn,
            "INSERT INTO plants (item_id, base_item_id, mutation, detail, planted_at) "
            "SELECT id, ?, ?, ?, ? FROM items WHERE source = ? AND external_id = ?",
            [
                (base_id, mutation, detail, stamp, draft.source, draft.external_id)
                for draft, base_id, mutation, detail in plants
            ],
        )
        return [
            (draft.source, Planted(0, draft.external_id, mutation, detail))
            for draft, _, mutation, detail in plants
        ]


Unnumbered = tuple[str, Planted]
"""A catch trial inserted in this transaction, with its source, its item id not read yet."""


def _with_ids(conn: Connection, made: Sequence[Unnumbered]) -> list[Planted]:
    """The transaction's catch trials with their item ids: one read a source (per 500)."""
    ids: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = {}
    for source, planted in made:
        by_source.setdefault(source, []).append(planted.external_id)
    for source, names in by_source.items():
        for start in range(0, len(names), LOOKUP_CHUNK):
            chunk = names[start : start + LOOKUP_CHUNK]
            rows = conn.execute(
                f"SELECT i.external_id, i.id FROM items AS i WHERE i.source = ? "
                f"AND i.external_id IN ({', '.join('?' * len(chunk))})",
                (source, *chunk),
            ).fetchall()
            ids.update(((source, name), item_id) for name, item_id in rows)
    return [
        dataclasses.replace(planted, item_id=ids[source, planted.external_id])
        for source, planted in made
    ]


def _place(
    conn: Connection,
    origin: Item | Draft,
    rng: random.Random,
    formats: IdFormats,
    span: IdSpan | None,
) -> tuple[str, dt.datetime | None]:
    """A catch trial's place: (lookalike id, created_at) (see `_place_group`)."""
    return _place_group(conn, [origin], rng, formats, span)[0]


def _place_group(
    conn: Connection,
    origins: Sequence[Item | Draft],
    rng: random.Random,
    formats: IdFormats,
    span: IdSpan | None,
) -> list[tuple[str, dt.datetime | None]]:
    """Catch trials' places: (lookalike id, created_at) for each, none taken twice.

    An origin is the real item a plant mutates, or the known-bad draft it is. Its id is
    in the style of the item's id, or of a random neighbour's of the same source and
    stakes; its time is a known-bad draft's own, else beside that neighbour, else the
    item's. Neighbours and times are read for the whole group in one statement each:
    on a team database every statement is a round trip, and one each a plant made
    planting over a VPN ~100 ms a plant.
    """
    neighbours = _neighbours(conn, [(o.source, o.stakes) for o in origins], rng, span)
    chosen: dict[str, set[str]] = {}  # ids this group takes, not inserted yet
    places: list[tuple[str, dt.datetime | None]] = []
    beside: list[tuple[int, str, str]] = []  # (place, stakes, neighbour's time)
    for origin, neighbour in zip(origins, neighbours, strict=True):
        if isinstance(origin, Item):
            model_id, created = origin.external_id, None
        else:
            model_id = neighbour[0] if neighbour else origin.external_id
            created = origin.created_at
        taken = chosen.setdefault(origin.source, set())
        ext = lookalike(conn, origin.source, model_id, rng, avoid=taken, formats=formats)
        taken.add(ext)
        if created is None and neighbour is not None:
            # Beside a random real item of the same stakes, far from its base: its place
            # in the queue gives nothing away.
            beside.append((len(places), origin.stakes, neighbour[1]))
        elif created is None and isinstance(origin, Item):
            created = origin.created_at
        places.append((ext, created))
    times = _besides(conn, [(stakes, at) for _, stakes, at in beside], rng)
    for (at, _, _), when in zip(beside, times, strict=True):
        places[at] = (places[at][0], when)
    return places


@dataclass(slots=True)
class _Run:
    """What one planting run (`PlantMixin.plant`) keeps from one transaction to the next."""

    left: int
    """Random picks of a base it may still make."""
    span: IdSpan | None
    """Where it draws from (`_id_span` when it starts)."""
    seen: set[int] = field(default_factory=set)
    """The bases it has used."""
    formats: IdFormats = field(default_factory=dict)
    """What it learnt of the sources' ids, not read again for every plant."""
    each: float = 0.0
    """Seconds a plant took in its last group (0 before the first)."""


_GROUP = 16
"""Catch trials placed together (`_place_group`): their bases, neighbours and times are
read in one statement each, not one each a plant. Fewer when the last group's pace says
sixteen would hold the write lock past `PLANT_TXN_S` (on a team database far away)."""


def _unioned(rows: Sequence[Sequence[object]], names: str) -> tuple[str, list[object]]:
    """`SELECT ? AS a, ? AS b UNION ALL SELECT ?, ? …`: a table of `rows` for one statement.

    Written so for both engines (SQLite names no columns of a bare `VALUES`).
    """
    width = len(names.split(","))
    marks = ", ".join("?" * width)
    first = ", ".join(f"? AS {name.strip()}" for name in names.split(","))
    sql = " UNION ALL ".join([f"SELECT {first}"] + [f"SELECT {marks}"] * (len(rows) - 1))
    return sql, [value for row in rows for value in row]


def _bases(
    conn: Connection, rng: random.Random, count: int, span: IdSpan | None, seen: Collection[int]
) -> list[Sequence[Any]]:
    """Pending real items never used as a base, picked at random by id: `count` picks.

    Seeded by the caller's `rng` (SQLite's random() is not), one index probe per pick
    however long the queue is, all picks in one statement. An item picked twice, or in
    `seen`, is left out. Rows of `ITEM_COLUMNS`, in the order picked.
    """
    if span is None or count <= 0:
        return []
    low, high = span
    plus = dialect_of(conn).unindexed
    picks, args = _unioned([(n, rng.randint(low, high)) for n in range(count)], "n, from_id")
    rows = conn.execute(
        # SQLite's `+state` (see store.dialect): without it, 15 s of a 40k import's
        # planting went on sorting pending items by id.
        f"SELECT w.n, {', '.join('i.' + c for c in ITEM_COLUMNS)} FROM ({picks}) AS w "
        "JOIN items AS i ON i.id = (SELECT id FROM items AS b "
        f"WHERE id >= w.from_id AND {plus}state = 'pending' "
        "AND NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.item_id = b.id) "
        "AND NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.base_item_id = b.id) "
        "ORDER BY id LIMIT 1)",
        args,
    ).fetchall()
    picked: dict[int, Sequence[Any]] = {}
    for row in sorted(rows, key=lambda r: int(r[0])):
        if row[1] not in seen and row[1] not in picked:
            picked[row[1]] = row[1:]
    return list(picked.values())


def _as_draft(base: Item, text: str, external_id: str, created_at: dt.datetime | None) -> Draft:
    """The catch trial made of `base` with its draft changed to `text`, at its place."""
    return Draft(
        source=base.source,
        external_id=external_id,
        draft=text,
        kind=base.kind,
        title=base.title,
        input=base.input,
        confidence=base.confidence,
        confidence_basis=base.confidence_basis,
        data_limits=base.data_limits,
        model=base.model,
        stakes=base.stakes,
        created_at=created_at,  # beside a random neighbour (`_place`), not its base
        meta=dict(base.meta),
        # The changed stretch carries no probability: it shows unmarked, so a catch
        # trial looks like its source's other drafts (and a sure-looking error).
        tokens=spliced(base.draft, text, base.tokens),
    )


def _neighbours(
    conn: Connection, wants: Sequence[tuple[str, str]], rng: random.Random, span: IdSpan | None
) -> list[tuple[str, str] | None]:
    """For each (source, stakes): a random pending real item of it (external id, created_at).

    A plant takes its neighbour's place in the queue, so the neighbour is drawn from the
    whole queue: windows of `_WINDOW` ids from a random id, as `_bases` draws (uniform
    over the items, a bounded read however long the queue). Each round tries one window
    for every want still unmet, in one statement. Taking one of the first 200 of the
    stakes level put a whole run's plants together at the head of the queue (137 of
    158 in its first tenth). A source too sparse for `_WINDOWS` windows to meet falls
    back to its first 200 in queue order: clustered, but only its own few plants.
    """
    found: list[tuple[str, str] | None] = [None] * len(wants)
    if span is None:
        return found
    low, high = span
    plus = dialect_of(conn).unindexed
    unmet = list(range(len(wants)))
    for _ in range(_WINDOWS):
        if not unmet:
            break
        starts = [rng.randint(low, high) for _ in unmet]
        windows, args = _unioned(
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
            "AND NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.item_id = x.id) "
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
    """A random one of the source's first 200 pending items at these stakes (`_neighbours`)."""
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


def _id_span(conn: Connection) -> IdSpan | None:
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
    after, args = _unioned(
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
