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
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from providers.base import STAKES_RANK, Draft
from providers.tokens import spliced
from store.clock import iso, parse_iso
from store.codec import sha256_text
from store.dialect import deferred, dialect_of
from store.ingest import INSERT_ITEM, count_inserted, dated, prepare
from store.models import Item
from store.mutate import mutate
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
        span = _id_span(self.conn)  # the run's items: later ones are its own plants
        with self.bulk():
            return self._plant_run(
                iter(_bases(self.conn, rng, wanted * 20, span)), wanted, rng, span
            )

    def _plant_run(
        self, bases: Iterator[Item], wanted: int, rng: random.Random, span: IdSpan | None
    ) -> list[Planted]:
        done: list[Planted] = []
        formats: IdFormats = {}  # learnt once per run, not read again for every plant
        exhausted = False
        while len(done) < wanted and not exhausted:
            # Not flushed to disk at each commit, as an import's batches (see
            # StoreBase._immediate): plants a power cut takes are planted again by the next
            # top-up. An fsync a transaction was 4.8 of 26 s planting 52k at a million.
            with self._immediate(durable=False) as conn:
                started, sources, made = time.monotonic(), list[str](), list[Unnumbered]()
                while len(done) + len(made) < wanted and time.monotonic() - started < PLANT_TXN_S:
                    # Picked inside this transaction (`_bases` is lazy): still pending and
                    # no plant's base, as its query requires.
                    base = next(bases, None)
                    if base is None:
                        exhausted = True
                        break
                    labels = base.meta.get("labels")
                    change = mutate(
                        base.draft, base.kind, rng, [str(x) for x in labels or ()]
                        if isinstance(labels, list) else (),
                    )  # fmt: skip
                    if change is None:
                        continue
                    # One Draft a plant, built in its place: a second, by `replace`,
                    # validated every field again (0.4-1 s of planting 52k at a million).
                    draft = _as_draft(base, change.text, *_place(conn, base, rng, formats, span))
                    made.append(
                        self._insert_plant(conn, draft, base.id, change.kind, change.detail)
                    )
                    sources.append(draft.source)
                count_inserted(conn, sources)  # once a transaction, not a plant
                index_new(conn)
                done += _with_ids(conn, made)
            time.sleep(YIELD_S)  # a gap for a waiting reviewer (see StoreBase._begin_immediate)
        return done

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
        sources: list[str] = []
        with self._immediate() as conn:
            span = _id_span(conn)
            for draft, flaw in drafts:
                seen = conn.execute(
                    "SELECT 1 FROM plants AS p JOIN items AS i ON i.id = p.item_id "
                    "WHERE p.mutation = ? AND i.source = ? AND i.draft_sha256 = ?",
                    (KNOWN_BAD, draft.source, sha256_text(draft.draft)),
                ).fetchone()
                if seen is None:
                    ext, created = _place(conn, draft, rng, formats, span)
                    planted = dataclasses.replace(draft, external_id=ext, created_at=created)
                    made.append(self._insert_plant(conn, planted, None, KNOWN_BAD, flaw))
                    sources.append(draft.source)
            count_inserted(conn, sources)
            index_new(conn)
            return _with_ids(conn, made)

    def _insert_plant(
        self, conn: Connection, planted: Draft, base_id: int | None, mutation: str, detail: str
    ) -> Unnumbered:
        """Insert a placed catch trial (see `_place`) and mark it planted; `_with_ids` numbers it.

        Both writes are deferred (`dialect.deferred`): on a team database they go with
        the next plant's first read, where they were two of its ten round trips.
        """
        stamp = iso(self.now())
        deferred(conn, INSERT_ITEM, dated(prepare(planted), stamp, stamp))
        deferred(
            conn,
            "INSERT INTO plants (item_id, base_item_id, mutation, detail, planted_at) "
            "SELECT id, ?, ?, ?, ? FROM items WHERE source = ? AND external_id = ?",
            (base_id, mutation, detail, stamp, planted.source, planted.external_id),
        )
        return planted.source, Planted(0, planted.external_id, mutation, detail)


Unnumbered = tuple[str, Planted]
"""A catch trial inserted in this transaction, with its source, its item id not read yet."""


def _with_ids(conn: Connection, made: Sequence[Unnumbered]) -> list[Planted]:
    """The transaction's catch trials with their item ids: one read a source (per 500)."""
    ids: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = {}
    for source, planted in made:
        by_source.setdefault(source, []).append(planted.external_id)
    for source, names in by_source.items():
        for start in range(0, len(names), 500):  # under SQLite's parameter limit
            chunk = names[start : start + 500]
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
    """A catch trial's place: (lookalike id, created_at).

    `origin` is the real item it mutates, or the known-bad draft it is. Its id is in
    the style of the item's id, or of a random neighbour's of the same source and
    stakes; its time is a known-bad draft's own, else beside that neighbour, else the
    item's.
    """
    neighbour = _neighbour(conn, origin.source, origin.stakes, rng, span)
    if isinstance(origin, Item):
        model_id, created = origin.external_id, None
    else:
        model_id = neighbour[0] if neighbour else origin.external_id
        created = origin.created_at
    ext = lookalike(conn, origin.source, model_id, rng, formats=formats)
    if created is None and neighbour is not None:
        # Beside a random real item of the same stakes, far from its base: its place in
        # the queue gives nothing away.
        created = _beside(conn, origin.stakes, neighbour[1], rng)
    elif created is None and isinstance(origin, Item):
        created = origin.created_at
    return ext, created


def _bases(conn: Connection, rng: random.Random, tries: int, span: IdSpan | None) -> Iterable[Item]:
    """Pending real items never used as a base, picked at random by id.

    Seeded by the caller's `rng` (SQLite's random() is not), and one index probe per
    pick however long the queue is.
    """
    if span is None:
        return
    low, high = span
    seen: set[int] = set()
    plus = dialect_of(conn).unindexed
    for _ in range(tries):
        row = conn.execute(
            # SQLite's `+state` (see store.dialect): without it, 15 s of a 40k import's
            # planting went on sorting pending items by id.
            f"SELECT {', '.join(ITEM_COLUMNS)} FROM items "
            f"WHERE id >= ? AND {plus}state = 'pending' "
            "AND NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.item_id = items.id) "
            "AND NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.base_item_id = items.id) "
            "ORDER BY id LIMIT 1",
            (rng.randint(low, high),),
        ).fetchone()
        if row is not None and row[0] not in seen:
            seen.add(row[0])
            yield item_from_row(row)


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


def _neighbour(
    conn: Connection, source: str, stakes: str, rng: random.Random, span: IdSpan | None
) -> tuple[str, str] | None:
    """A random pending real item of this source and stakes: (external id, created_at).

    A plant takes its neighbour's place in the queue, so the neighbour is drawn from the
    whole queue: windows of `_WINDOW` ids from a random id, as `_bases` draws (uniform
    over the items, a bounded read however large the queue). Taking one of the first 200
    of the stakes level put a whole run's plants together at the head of the queue
    (137 of 158 in its first tenth). A source too sparse for `_WINDOWS` windows to meet
    falls back to its first 200 in queue order: clustered, but only its own few plants.
    """
    rank = STAKES_RANK[stakes]
    if span is None:
        return None
    low, high = span
    plus = dialect_of(conn).unindexed
    for _ in range(_WINDOWS):
        start = rng.randint(low, high)
        row = conn.execute(
            # A range of ids, walked by id to the first match: a window of the first 256
            # rows from `start` (a subquery with its own LIMIT) was read whole and sorted
            # again by SQLite for the outer `ORDER BY` (150 µs a window; now ~10).
            "SELECT external_id, created_at FROM items AS w WHERE id >= ? AND id < ? "
            f"AND {plus}state = 'pending' AND {plus}stakes_rank = ? AND {plus}source = ? "
            "AND NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.item_id = w.id) "
            "ORDER BY id LIMIT 1",
            (start, start + _WINDOW, rank, source),
        ).fetchone()
        if row is not None:
            return row[0], row[1]
    # `stakes_rank`, not `stakes`: the pending index is ordered by it, so this seeks to
    # the stakes level. By `stakes` it walked every pending item of higher stakes first:
    # 170 ms a plant at a million items, 3 hours for the 5 % an import of a million plants.
    rows: Sequence[tuple[str, str]] = conn.execute(
        "SELECT external_id, created_at FROM items WHERE state = 'pending' "
        "AND stakes_rank = ? AND source = ? AND id NOT IN (SELECT item_id FROM plants) "
        "LIMIT 200",
        (rank, source),
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


def _beside(conn: Connection, stakes: str, created_at: str, rng: random.Random) -> dt.datetime:
    """A time just after `created_at`, before the next pending item of these stakes.

    Whole seconds (up to 59) are added, so the time is written as precisely as the
    neighbour's; none when the next item is less than a second later. An import without
    times stamps its items a batch at a time: a fixed 1-59 s passed thousands of them,
    and a run's plants piled up after the last real item of each stakes level.
    """
    after = conn.execute(
        "SELECT created_at FROM items WHERE state = 'pending' AND stakes_rank = ? "
        "AND created_at > ? ORDER BY created_at LIMIT 1",
        (STAKES_RANK[stakes], created_at),
    ).fetchone()
    start = parse_iso(created_at)
    room = 59 if after is None else int((parse_iso(after[0]) - start).total_seconds())
    return start + dt.timedelta(seconds=rng.randint(0, min(59, room)) if room > 0 else 0)


_WINDOW = 256
"""Ids walked from a random start in search of a neighbour (~10 µs on SQLite)."""
_WINDOWS = 8
"""Random windows tried before the fallback: a source and stakes level with one item in
a thousand of the queue is met 87 % of the time."""


@dataclass(slots=True)
class IdFormat:
    """What a planting run learnt of a source's ids with one prefix."""

    numbers: set[int]
    """A sample of the numbers after the prefix (see `_numbers`)."""
    padded: int
    """Their width when the source writes leading zeros, else 0."""
    misses: int = 0
    """Plants in a row whose random tries all met a taken id (see `_MISSES`)."""
    span: tuple[int, int] | None = field(init=False, default=None)
    """The sample's smallest and largest number (None while it is empty), kept as the
    sample changes: `min` and `max` over it for each plant were ~1.3 s of the ~22 s
    that planting 52k catch trials at a million items took."""

    def __post_init__(self) -> None:
        if self.numbers:
            self.span = (min(self.numbers), max(self.numbers))

    def replace_largest(self, number: int) -> None:
        """Put `number` (above the sample's largest) in the largest's place: the size stays."""
        if self.span is None:
            self.numbers.add(number)
            self.span = (number, number)
            return
        low, high = self.span
        self.numbers.discard(high)
        self.numbers.add(number)
        self.span = (number if low == high else low, number)


IdFormats = dict[tuple[str, str], IdFormat]
"""(source, prefix) → what one planting run learnt of those ids."""

_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")
_SAMPLE = 500
"""Ids of the source read to learn its id format and range (one index range scan)."""
_TRIES = 50
"""Random ids tried (in one query) before the next free one after the range is taken."""
_MISSES = 2
"""Plants in a row that found no free id among `_TRIES` before a run stops drawing: a
range that dense (~95 % taken or more) sends every plant after its end anyway, and the
draws and their query were a third of a dense source's planting (0.3 of 0.95 ms a plant)."""


def lookalike(
    conn: Connection,
    source: str,
    model: str,
    rng: random.Random,
    avoid: Collection[str] = frozenset(),
    formats: IdFormats | None = None,
) -> str:
    """A free id in the source's own format and range (`T-1042` → `T-1031`).

    Numbers are drawn between the smallest and largest of the source's ids with the
    same prefix and padded only if the source pads them; a range with no free number
    left gets the next numbers after it, which is where the source's next real ids go
    (and a real record that wants such an id moves the plant). Ids without a number
    get a random id of the same shape (digits for digits, letters for letters).
    Never fails. `avoid`: ids about to be taken (the rest of an import batch);
    `formats`: what earlier calls learnt of the source's ids (one planting run).
    """

    def is_taken(conn: Connection, source: str, external_id: str) -> bool:
        return external_id in avoid or _stored(conn, source, external_id)

    def first_free(candidates: list[str]) -> str | None:
        # All tries in one query: one probe per try was one round trip each on a team
        # database, and a source with dense ids takes most tries (~47 a plant: 10 ms).
        fresh = [c for c in dict.fromkeys(candidates) if c not in avoid]
        stored = _stored_among(conn, source, fresh)
        return next((c for c in fresh if c not in stored), None)

    match = _TRAILING_NUMBER.match(model)
    if match is None:
        found = first_free([_same_shape(model, rng) for _ in range(_TRIES)])
        return found or _after_last(is_taken, conn, source, model + "-", 1, padded=0)
    prefix = match.group(1)
    known = formats if formats is not None else {}
    if (source, prefix) not in known:
        known[source, prefix] = _numbers(conn, source, prefix)
    learnt = known[source, prefix]
    padded = learnt.padded
    low, high = learnt.span or (1, int(match.group(2)))
    if learnt.misses < _MISSES:
        drawn = (rng.randint(low, high) for _ in range(_TRIES))
        found = first_free([
            prefix + (str(number).zfill(padded) if padded else str(number))
            for number in drawn if number not in learnt.numbers
        ])  # fmt: skip
        if found:
            learnt.misses = 0
            return found
        learnt.misses += 1
    after = _after_last(is_taken, conn, source, prefix, high + 1, padded)
    # The next plant of this run starts its search from here, not from the sample's end
    # again (~25 probes a plant on dense ids, each a round trip on a team database). The
    # sample's largest number is replaced, not added to: the sample stays its size (a
    # growing one made each plant rebuild it: a million-item import 70 → 120 s).
    learnt.replace_largest(int(after[len(prefix) :]))
    return after


def _numbers(conn: Connection, source: str, prefix: str) -> IdFormat:
    """A sample of the numbers after `prefix` in the source's ids, and their padding width.

    Padding is the digit count when the source writes leading zeros (`0042`), else 0.
    """
    rows = conn.execute(
        "SELECT external_id FROM items WHERE source = ? AND external_id >= ? "
        "AND external_id < ? ORDER BY external_id DESC LIMIT ?",
        (source, prefix, prefix + "\U0010ffff", _SAMPLE),
    ).fetchall()
    numbers, padded = set[int](), 0
    for (external_id,) in rows:
        digits = external_id[len(prefix) :]
        if digits.isascii() and digits.isdigit():
            numbers.add(int(digits))
            if len(digits) > 1 and digits.startswith("0"):
                padded = max(padded, len(digits))
    return IdFormat(numbers, padded)


def _after_last(
    taken: Callable[[Connection, str, str], bool],
    conn: Connection,
    source: str,
    prefix: str,
    start: int,
    padded: int,
) -> str:
    """The first free number from `start` on: probes double, then halve (few index probes)."""

    def free(number: int) -> bool:
        text = prefix + (str(number).zfill(padded) if padded else str(number))
        return not taken(conn, source, text)

    step = 1
    while not free(start + step - 1):
        step *= 2
    low, high = start + step // 2, start + step - 1  # taken below low (roughly), free at high
    if step > 1:  # `start` itself was taken (usually it is free: the last plant took start - 1)
        while low < high:
            middle = (low + high) // 2
            if free(middle):
                high = middle
            else:
                low = middle + 1
        while not free(high):  # the halving assumes a dense run; check the answer
            high += 1
    return prefix + (str(high).zfill(padded) if padded else str(high))


def _same_shape(model: str, rng: random.Random) -> str:
    hexish = all(c in "0123456789abcdef-" for c in model.lower())
    letters = "abcdef" if hexish else "abcdefghijklmnopqrstuvwxyz"
    out = []
    for char in model:
        if char.isdigit():
            out.append(rng.choice("0123456789"))
        elif char.isalpha() and char.isascii():
            picked = rng.choice(letters)
            out.append(picked.upper() if char.isupper() else picked)
        else:
            out.append(char)
    return "".join(out)


def _stored_among(conn: Connection, source: str, external_ids: list[str]) -> set[str]:
    """Which of `external_ids` the source already has (one query)."""
    if not external_ids:
        return set()
    marks = ", ".join("?" * len(external_ids))
    rows = conn.execute(
        f"SELECT external_id FROM items WHERE source = ? AND external_id IN ({marks})",
        (source, *external_ids),
    ).fetchall()
    return {row[0] for row in rows}


def _stored(conn: Connection, source: str, external_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM items WHERE source = ? AND external_id = ?", (source, external_id)
        ).fetchone()
        is not None
    )
