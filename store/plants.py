"""Catch trials: planted wrong drafts mixed into the queue to measure every reviewer.

A planted item is an ordinary row of `items` (same source, kind, stakes, confidence and
data limits as a real one, an id that looks like its neighbours', a place in the queue
among them); only the `plants` table knows. Its decision is flagged in the ledger, left
out of exports of real decisions, and never delivered to a provider (a trigger refuses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from providers.base import Draft, DraftFields
from providers.tokens import decode as decode_tokens
from providers.tokens import spliced
from store.clock import iso
from store.codec import limits_from_json, sha256_text
from store.dialect import deferred_many, dialect_of
from store.ingest import (
    EXTERNAL_ID_AT,
    INSERT_ITEM,
    LOOKUP_CHUNK,
    SOURCE_AT,
    Prepared,
    count_inserted,
    dated,
    prepare,
    prepare_fields,
)
from store.models import BatchSummary
from store.mutate import Mutation, mutate
from store.plant_ids import IdFormats
from store.plant_places import Base, IdSpan, id_span, pick_bases, place_group, place_one
from store.queue import QueueMixin
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
        lead imports never wait on a long one. The run walks the queue from its head, each
        group of plants beside items of the next stretch (`_Walk`).
        """
        if rate <= 0:
            return []
        planted, real = self.plant_count()
        wanted = round(real * rate / (1 - rate)) - planted
        if wanted <= 0:
            return []
        span = id_span(self.conn)  # later ids: its own plants
        run = _Run(left=wanted * 20, span=span, walk=_Walk(span, wanted) if span else None)
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
                    done += _with_ids(conn, made)
                self._index_when_due()  # a bulk writer's items: thousands at a time
                time.sleep(YIELD_S)  # a gap for a waiting reviewer (StoreBase._begin_immediate)
        return done

    def planting(self, rate: float, rng: random.Random) -> Planting:
        """Catch trials to plant with an import's batches (`ingest_planting`), at `rate`.

        Only what the import adds calls for plants; a queue already under the rate is
        topped up after it, by `plant`, and one over the rate plants nothing until the
        import's own items call for more than the excess. On a team database, none: all
        are planted after the import.
        """
        if dialect_of(self.conn).name == "postgresql":
            # No gain there: 100k records with gaps in their ids, on the same machine,
            # 32.9-34.2 s with the batches against 28.4-29.6 s after them (what it saves
            # on SQLite is commits and checkpoints); with the base pick's anti-joins
            # bounded (`pick_bases`), 21.1 / 19.4 / 19.4 s against 21.8 / 20.7 / 18.3 s.
            # `plant` makes them all after.
            return Planting(0.0, rng)
        planted, real = self.plant_count() if rate > 0 else (0, 0)
        excess = planted - real * rate / (1 - rate) if rate > 0 else 0.0
        return Planting(rate, rng, owed=-max(0.0, excess))

    def ingest_planting(self, rows: Sequence[Prepared], planting: Planting) -> BatchSummary:
        """`ingest_prepared` with the batch's share of catch trials in its transaction.

        Planting after a large import took a quarter of it (52,632 plants at a million
        items, 23.5 s), two-thirds of that the commits, checkpoints and pauses of its
        own transactions: inside each batch's transaction its plants share the batch's
        commit, and their places are among the batch's items, pages it dirties anyway.
        Bases are drawn from the whole queue so far; each plant sits beside a random
        item of its batch (`pick_neighbours`' `near`), so the import's plants are spread
        through it as the import goes. A plant whose id would go after its source's
        range (dense ids, `T-1`, `T-2`, …) is not made here: the import's next records
        want those ids, and moving such plants batch after batch made a 20k import 8.6
        times slower. `plant` afterwards makes those, and what rounding left.
        """
        if planting.rate <= 0 or planting.stopped:
            return self.ingest_prepared(rows)

        def plant_along(conn: Connection, added: int, before: int) -> None:
            planting.owed += added * planting.rate / (1 - planting.rate)
            need = int(planting.owed)
            span = id_span(conn) if need > 0 else None
            if span is None:
                return
            planting.owed -= need  # what is not made here, `plant` tops up at the end
            # What it learns of the ids is learnt again each batch: the range grows.
            run = _Run(left=need * 20, span=span, near=(before + 1, span[1]), past_end=False)
            made: list[Unnumbered] = []
            while len(made) < need:
                group = self._plant_group(conn, run, min(_GROUP, need - len(made)), planting.rng)
                if not group:
                    break
                made += group
            # None placed (dense ids, or no base left): each later batch would pick,
            # mutate and seek neighbours for nothing again.
            planting.stopped = not made
            count_inserted(conn, (source for source, _ in made))
            planting.made += _with_ids(conn, made)

        return self.ingest_prepared(rows, plant_along)

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
            if run.walk is not None:
                run.near = run.walk.take(need)
            group = self._plant_group(conn, run, need, rng)
            if not group:
                break
            made += group
            run.each = (time.monotonic() - begun) / len(group)
        return made

    def _plant_group(
        self, conn: Connection, run: _Run, need: int, rng: random.Random
    ) -> list[Unnumbered]:
        """Up to `need` catch trials picked, placed and inserted together (none: no base left)."""
        # Picked inside this transaction: still pending and no plant's base, as the
        # pick's query requires.
        group = self._mutated(conn, run, need, rng)
        if not group:
            return []
        bases = [base for base, _, _ in group]
        places = place_group(
            conn, bases, rng, run.formats, run.span, near=run.near, past_end=run.past_end
        )
        placed = [
            (
                prepare_fields(_fields(base, meta, change.text, *place)),
                base.id,
                change.kind,
                change.detail,
            )
            for (base, meta, change), place in zip(group, places, strict=True)
            if place is not None  # none during an import: `plant` makes it after
        ]
        return self._insert_plants(conn, placed) if placed else []

    def _mutated(
        self, conn: Connection, run: _Run, need: int, rng: random.Random
    ) -> list[tuple[Base, dict[str, Any], Mutation]]:
        """Up to `need` random bases, each with its meta and mutation (none left: none)."""
        group: list[tuple[Base, dict[str, Any], Mutation]] = []
        while len(group) < need and run.left > 0:
            # A quarter more picks than bases wanted: a text draft always mutates, and a
            # pick of an item already used is rare. Twice as many was ~1.5 s of planting
            # 52k at a million; a short round picks again.
            short = need - len(group)
            count = min(run.left, short + short // 4 + 1)
            run.left -= count
            for base in pick_bases(conn, rng, count, run.span, run.seen):
                if len(group) == need:
                    break
                run.seen.add(base.id)
                meta: dict[str, Any] = json.loads(base["meta"])
                labels = meta.get("labels")
                change = mutate(
                    base["draft"], base["kind"], rng, [str(x) for x in labels or ()]
                    if isinstance(labels, list) else (),
                )  # fmt: skip
                if change is not None:
                    group.append((base, meta, change))
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
            span = id_span(conn)
            for draft, flaw in drafts:
                seen = conn.execute(
                    "SELECT 1 FROM plants AS p JOIN items AS i ON i.id = p.item_id "
                    "WHERE p.mutation = ? AND i.source = ? AND i.draft_sha256 = ?",
                    (KNOWN_BAD, draft.source, sha256_text(draft.draft)),
                ).fetchone()
                if seen is None:  # inserted now: the next draft's check must see it
                    ext, created = place_one(conn, draft, rng, formats, span)
                    planted = dataclasses.replace(draft, external_id=ext, created_at=created)
                    made += self._insert_plants(conn, [(prepare(planted), None, KNOWN_BAD, flaw)])
            count_inserted(conn, (source for source, _ in made))
            index_new(conn)
            return _with_ids(conn, made)

    def _insert_plants(
        self, conn: Connection, plants: Sequence[tuple[Prepared, int | None, str, str]]
    ) -> list[Unnumbered]:
        """Insert placed catch trials and mark them planted; `_with_ids` numbers them.

        Each is (its row in its place (`place_group`), base item id, mutation, detail). Both
        tables' rows go in one `dialect.deferred_many` each: on SQLite one call for the
        group, not two a plant; on a team database with the next plant's first read,
        where they were two of its ten round trips.
        """
        stamp = iso(self.now())
        deferred_many(conn, INSERT_ITEM, [dated(row, stamp, stamp) for row, *_ in plants])
        deferred_many(
            conn,
            "INSERT INTO plants (item_id, base_item_id, mutation, detail, planted_at) "
            "SELECT id, ?, ?, ?, ? FROM items WHERE source = ? AND external_id = ?",
            [
                (base_id, mutation, detail, stamp, row[SOURCE_AT], row[EXTERNAL_ID_AT])
                for row, base_id, mutation, detail in plants
            ],
        )
        return [
            (row[SOURCE_AT], Planted(0, row[EXTERNAL_ID_AT], mutation, detail))
            for row, _, mutation, detail in plants
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


@dataclass(slots=True)
class Planting:
    """Catch trials planted with an import's batches (`PlantMixin.planting`)."""

    rate: float
    rng: random.Random
    owed: float = 0.0
    """Plants the items added so far call for and not planted yet (below 0: the queue
    was over the rate by that many when the import began)."""
    made: list[Planted] = field(default_factory=list)
    """The catch trials planted so far."""
    stopped: bool = False
    """A batch placed none of its plants: the rest of the import plants none, `plant`
    makes them after it."""


@dataclass(slots=True)
class _Walk:
    """The queue walked in id order, a stretch for each group of plants (`_Run.walk`).

    A planting run's neighbours were drawn from the whole queue for every group, so each
    50 ms transaction wrote its plants' index entries on pages all over the queue order
    indexes, and a page was written again in each of the many transactions that came
    back to it. Walked in turn, a transaction's plants go to one stretch of the queue
    (a few pages each index), and the run still covers the queue evenly, by construction.
    """

    span: IdSpan
    wanted: int
    at: float = 0.0
    """Ids of the span walked so far."""

    def take(self, count: int) -> IdSpan:
        """The stretch for the next `count` plants: their share of the span, in turn."""
        low, high = self.span
        size = high - low + 1
        if self.at >= size:  # more groups than planned (short ones): round again
            self.at = 0.0
        start = low + int(self.at)
        self.at += size * count / self.wanted  # `plant` walks only when it wants some
        return start, max(start, min(high, low + int(self.at) - 1))


@dataclass(slots=True)
class _Run:
    """What one planting run (`PlantMixin.plant`) keeps from one transaction to the next."""

    left: int
    """Random picks of a base it may still make."""
    span: IdSpan | None
    """Where it draws from (`id_span` when it starts)."""
    seen: set[int] = field(default_factory=set)
    """The bases it has used."""
    formats: IdFormats = field(default_factory=dict)
    """What it learnt of the sources' ids, not read again for every plant."""
    each: float = 0.0
    """Seconds a plant took in its last group (0 before the first)."""
    near: IdSpan | None = None
    """Where its plants' neighbours are sought first (an import's batch, a stretch of
    `walk`), if anywhere."""
    past_end: bool = True
    """A plant may take an id after its source's range (not during an import)."""
    walk: _Walk | None = None
    """The queue in stretches, one a group (`plant`); None during an import."""


_GROUP = 16
"""Catch trials placed together (`plant_places.place_group`): their bases, neighbours and times are
read in one statement each, not one each a plant. Fewer when the last group's pace says
sixteen would hold the write lock past `PLANT_TXN_S` (on a team database far away)."""


def _fields(
    base: Base, meta: dict[str, Any], text: str, external_id: str, created_at: dt.datetime | None
) -> DraftFields:
    """The catch trial made of `base` with its draft changed to `text`, at its place.

    Its fields as `Draft(*fields)` takes them, for `prepare_fields`: the row it gets is the
    one a `Draft` of the same fields would get (a test holds the two to each other), without
    a `Draft` validated or an `Item` made of the base (see `Base`). Everything but the
    draft, the tokens and the place is the base's, as stored.
    """
    tokens = decode_tokens(base["token_logprobs"])
    return (
        base.source, external_id, text, base["kind"], base["title"], base["input"],
        base["confidence"], base["confidence_basis"],
        limits_from_json(base["data_limits"]), base["model"], base.stakes,
        created_at,  # beside a random neighbour (`place_group`), not its base
        meta,
        # The changed stretch carries no probability: it shows unmarked, so a catch
        # trial looks like its source's other drafts (and a sure-looking error).
        spliced(base["draft"], text, tokens),
    )  # fmt: skip
