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
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from providers.base import Draft
from store.clock import iso, parse_iso
from store.errors import StoreError
from store.models import Item
from store.mutate import mutate
from store.queue import (
    _INSERT,
    ITEM_COLUMNS,
    QueueMixin,
    _draft_row,
    count_inserted,
    insert_values,
    item_from_row,
)

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
        """
        if rate <= 0:
            return []
        planted, real = self.plant_count()
        wanted = round(real * rate / (1 - rate)) - planted
        if wanted <= 0:
            return []
        with self._immediate() as conn:
            done: list[Planted] = []
            for base in _bases(conn, rng, wanted * 20):
                if len(done) == wanted:
                    break
                labels = base.meta.get("labels")
                change = mutate(
                    base.draft, base.kind, rng, [str(x) for x in labels or ()]
                    if isinstance(labels, list) else (),
                )  # fmt: skip
                if change is None:
                    continue
                draft = _as_draft(base, change.text)
                done.append(self._insert_plant(conn, draft, base, change.kind, change.detail, rng))
            return done

    def plant_drafts(
        self, drafts: Iterable[tuple[Draft, str]], rng: random.Random
    ) -> list[Planted]:
        """Plant known-bad drafts (each with what is wrong with it) as catch trials.

        Each gets a fresh id in the style of its source's ids; one without a
        `created_at` gets a place beside a random real item of its stakes.
        """
        with self._immediate() as conn:
            return [
                self._insert_plant(conn, draft, None, KNOWN_BAD, flaw, rng)
                for draft, flaw in drafts
            ]

    def _insert_plant(
        self,
        conn: sqlite3.Connection,
        draft: Draft,
        base: Item | None,
        mutation: str,
        detail: str,
        rng: random.Random,
    ) -> Planted:
        neighbour = _neighbour(conn, draft.source, draft.stakes, rng)
        model_id = base.external_id if base else (neighbour[0] if neighbour else draft.external_id)
        ext = lookalike(conn, draft.source, model_id, rng)
        created = draft.created_at
        if created is None and neighbour is not None:
            # Beside a random real item of the same stakes, far from its base: its place in
            # the queue gives nothing away.
            created = parse_iso(neighbour[1]) + dt.timedelta(seconds=rng.randint(1, 59))
        elif created is None and base is not None:
            created = base.created_at
        planted = dataclasses.replace(draft, external_id=ext, created_at=created)
        stamp = iso(self.now())
        item_id = conn.execute(_INSERT, insert_values(_draft_row(planted, stamp))).lastrowid
        count_inserted(conn, [planted.source])
        if item_id is None:  # pragma: no cover - sqlite always returns the rowid
            raise StoreError("could not plant a catch trial")
        conn.execute(
            "INSERT INTO plants (item_id, base_item_id, mutation, detail, planted_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (item_id, base.id if base else None, mutation, detail, stamp),
        )
        return Planted(item_id, ext, mutation, detail)


def _bases(conn: sqlite3.Connection, rng: random.Random, tries: int) -> Iterable[Item]:
    """Pending real items never used as a base, picked at random by id.

    Seeded by the caller's `rng` (SQLite's random() is not), and one index probe per
    pick however long the queue is.
    """
    low, high = conn.execute("SELECT min(id), max(id) FROM items").fetchone()
    if low is None:
        return
    seen: set[int] = set()
    for _ in range(tries):
        row = conn.execute(
            f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE id >= ? AND state = 'pending' "
            "AND id NOT IN (SELECT item_id FROM plants) "
            "AND id NOT IN (SELECT base_item_id FROM plants WHERE base_item_id IS NOT NULL) "
            "ORDER BY id LIMIT 1",
            (rng.randint(low, high),),
        ).fetchone()
        if row is not None and row[0] not in seen:
            seen.add(row[0])
            yield item_from_row(row)


def _as_draft(base: Item, text: str) -> Draft:
    return Draft(
        source=base.source,
        external_id=base.external_id,
        draft=text,
        kind=base.kind,
        title=base.title,
        input=base.input,
        confidence=base.confidence,
        confidence_basis=base.confidence_basis,
        data_limits=base.data_limits,
        model=base.model,
        stakes=base.stakes,
        created_at=None,  # placed beside a random neighbour, not next to its base
        meta=dict(base.meta),
    )


def _neighbour(
    conn: sqlite3.Connection, source: str, stakes: str, rng: random.Random
) -> tuple[str, str] | None:
    """A random pending real item of this source and stakes: (external id, created_at)."""
    rows: Sequence[tuple[str, str]] = conn.execute(
        "SELECT external_id, created_at FROM items WHERE source = ? AND stakes = ? "
        "AND state = 'pending' AND id NOT IN (SELECT item_id FROM plants) LIMIT 200",
        (source, stakes),
    ).fetchall()
    return rng.choice(rows) if rows else None


_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def lookalike(conn: sqlite3.Connection, source: str, model: str, rng: random.Random) -> str:
    """A free id shaped like `model` (`T-1042` → `T-1031`), so the queue gives nothing away."""
    match = _TRAILING_NUMBER.match(model)
    for attempt in range(200):
        if match:
            # A number near the model's (T-1042 → T-1031), the way neighbours' ids look;
            # the range widens as attempts find it crowded.
            prefix, digits = match.groups()
            spread = 30 * 2 ** (attempt // 20)
            number = max(0, int(digits) + rng.choice((-1, 1)) * rng.randint(1, spread))
            candidate = prefix + str(number).zfill(len(digits))
        else:
            candidate = f"{model}-{rng.randrange(1000, 10000)}"
        taken = conn.execute(
            "SELECT 1 FROM items WHERE source = ? AND external_id = ?", (source, candidate)
        ).fetchone()
        if not taken:
            return candidate
    raise StoreError(f"no free id like {model!r} for a catch trial in {source!r}")
