"""Adding drafts to the queue: each draft made into its row once, stored a batch at a time.

`prepare` turns a draft into everything its `items` row holds but the times: hashes,
JSON columns, ranks. It needs no store, so an import can run it in a second process
while this one writes (`tui.import_reader`). `IngestMixin.ingest_prepared` dates the
rows and applies the queue's rules to them in one transaction; `ingest` is the two in
turn. Catch trials (`store.plants`) add their rows with the same `prepare` and
`INSERT_ITEM`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from providers.base import STAKES_RANK, Draft, DraftFields, fields_of
from providers.tokens import encode as encode_tokens
from store.clock import iso
from store.codec import compact_json, content_hash, limits_json, sha256_text, worst_limit
from store.db import StoreBase
from store.dialect import deferred, dialect_of
from store.models import BatchSummary
from store.search import index_new

if TYPE_CHECKING:
    from store.db import Connection

INSERT_COLUMNS = (
    "source", "external_id", "kind", "title", "input", "draft", "draft_sha256", "confidence",
    "confidence_basis", "data_limits", "worst_limit", "model", "stakes", "stakes_rank", "meta",
    "content_hash", "created_at", "imported_at", "updated_at", "token_logprobs",
)  # fmt: skip
"""The columns an added item is given, in the order of a `Prepared` row."""
# Positional, not named: binding a tuple is ~5 µs a row cheaper than a dict.
INSERT_ITEM = (
    # The one statement that adds an item: imports and catch trials alike.
    f"INSERT INTO items ({', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
)
SOURCE_AT, EXTERNAL_ID_AT = INSERT_COLUMNS.index("source"), INSERT_COLUMNS.index("external_id")
"""Where a `Prepared` row holds its source and its source's id (its key in the queue)."""
_HASH = INSERT_COLUMNS.index("content_hash")
_CREATED = INSERT_COLUMNS.index("created_at")
# `dated` fills the three times, which follow each other:
assert INSERT_COLUMNS.index("updated_at") == INSERT_COLUMNS.index("imported_at") + 1 == _CREATED + 2

Prepared = tuple[Any, ...]
"""A draft as its `items` row (`INSERT_COLUMNS` order) before it is dated.

`created_at` holds the draft's own time or None; `imported_at` and `updated_at` are
None. Plain values only: a batch of them pickles in a few milliseconds (a batch of
`Draft` objects took as long to unpickle as to parse).
"""

Along = Callable[["Connection", int, int], None]
"""Rows added with a batch, in its transaction (catch trials, `store.plants.Planting`):
called after the batch's own rows with the connection, how many items the batch added
and the largest item id before them (its new items have larger ids)."""

# created_at stays as first seen when the source sends none; only pending items change.
_UPDATE = """
UPDATE items SET kind = :kind, title = :title, input = :input, draft = :draft,
    draft_sha256 = :draft_sha256, confidence = :confidence, confidence_basis = :confidence_basis,
    data_limits = :data_limits, worst_limit = :worst_limit, model = :model, stakes = :stakes,
    stakes_rank = :stakes_rank, meta = :meta, content_hash = :content_hash,
    token_logprobs = :token_logprobs,
    created_at = coalesce(:given_created_at, created_at), updated_at = :updated_at
WHERE source = :source AND external_id = :external_id AND state = 'pending'
"""
LOOKUP_CHUNK = 500
"""Ids looked up in one `IN (…)`: under SQLite's host-parameter limit on old builds."""
_ANALYZE_AFTER = 1000
"""Rows a store adds to a PostgreSQL `items` before it first analyzes it (`_grew`)."""
_MICROSECOND = dt.timedelta(microseconds=1)


def prepare(draft: Draft) -> Prepared:
    """A draft as the `items` row it becomes, all but its times (see `Prepared`)."""
    return prepare_fields(fields_of(draft))


def prepare_fields(fields: DraftFields) -> Prepared:
    """`prepare` of the draft `Draft(*fields)`, without making it (an import's records)."""
    (source, external_id, text, kind, title, input_, confidence, basis, limits, model, stakes,
     created, meta, tokens) = fields  # fmt: skip
    return (
        source,
        external_id,
        kind,
        title,
        input_,
        text,
        sha256_text(text),
        confidence,
        basis,
        limits_json(limits),
        worst_limit(limits),
        model,
        stakes,
        STAKES_RANK[stakes],
        compact_json(meta) if meta else "{}",
        content_hash(fields),
        iso(created) if created else None,
        None,
        None,
        encode_tokens(tokens),
    )


def dated(row: Prepared, created: str, stamp: str) -> Prepared:
    """The row with its times: its own `created_at`, else `created`; stored at `stamp`."""
    return (*row[:_CREATED], row[_CREATED] or created, stamp, stamp, *row[_CREATED + 3 :])


def microseconds_apart(start: dt.datetime, count: int) -> list[str]:
    """`iso` of `start` and the `count - 1` microseconds after it, in order.

    Only the digits of the microseconds change, except where a second ends: formatting
    a datetime for each row was 0.3 s of the writer's 2.8 s in a 100k import.
    """
    out: list[str] = []
    while len(out) < count:
        text = iso(start + len(out) * _MICROSECOND)
        head, first = text[:20], int(text[20:26])  # `…T09:30:00.` and the microseconds
        out += [f"{head}{us:06d}Z" for us in range(first, min(1_000_000, first + count - len(out)))]
    return out


def count_inserted(conn: Connection, sources: Iterable[str]) -> None:
    """Add newly inserted (pending) items to `item_counts`, one upsert per source.

    Per batch, not per row: a row trigger cost ~17 µs of every insert (m006).
    """
    for source, n in Counter(sources).items():
        deferred(  # on a team database, with the next statement or the commit
            conn,
            "INSERT INTO item_counts (source, state, n) VALUES (?, 'pending', ?) "
            "ON CONFLICT (source, state) DO UPDATE SET n = item_counts.n + excluded.n",
            (source, n),
        )


class IngestMixin(StoreBase):
    """Adding and updating drafts; mixed into `store.Store` (through the queue)."""

    def ingest(self, drafts: Sequence[Draft]) -> BatchSummary:
        """Store one batch of drafts in a single transaction (see `ingest_prepared`)."""
        return self.ingest_prepared([prepare(draft) for draft in drafts])

    def ingest_prepared(self, rows: Sequence[Prepared], along: Along | None = None) -> BatchSummary:
        """Store one batch of `prepare`d drafts in a single transaction.

        New `(source, external_id)` pairs are added; pending items with changed content
        are updated; identical ones are counted unchanged; items already claimed,
        decided or escalated are skipped, never duplicated or overwritten. `along` adds
        its own rows in the same transaction, after the batch's (see `Along`).
        """
        now = self.now()
        inserts: dict[tuple[str, str], Prepared] = {}
        updates: dict[tuple[str, str], tuple[Prepared, str | None]] = {}  # row, its own time
        added = updated = unchanged = skipped = 0
        # Dated before the write lock is taken: other writers (reviewers deciding) wait
        # only for the lookups and inserts.
        dated_rows = self._dated(rows, now)
        batch_ids: dict[str, set[str]] = {}  # per source, built only if a plant must move
        with self._immediate(durable=False) as conn:
            existing = self._existing(conn, rows)
            before = _last_id(conn) if along is not None else 0
            # Records are taken in order, so a key repeated in one batch behaves
            # exactly as if the two records had come in two imports.
            for original, row in zip(rows, dated_rows, strict=True):
                key = (row[SOURCE_AT], row[EXTERNAL_ID_AT])
                known = existing.get(key)
                if known is not None and known[2]:
                    # A real record wants the id a planted draft was given: the plant moves,
                    # to an id no record of this batch wants either.
                    source = key[0]
                    if source not in batch_ids:
                        batch_ids[source] = {
                            r[EXTERNAL_ID_AT] for r in rows if r[SOURCE_AT] == source
                        }
                    _rekey_plant(conn, source, key[1], batch_ids[source])
                    known = None
                if known is None:
                    inserts[key] = row
                    added += 1
                elif known[0] != "pending":
                    skipped += 1
                    continue
                elif known[1] == row[_HASH]:
                    unchanged += 1
                    continue
                else:
                    if key in inserts:  # added earlier in this batch: add the newer one
                        inserts[key] = row
                    else:
                        updates[key] = (row, original[_CREATED])
                    updated += 1
                existing[key] = ("pending", row[_HASH], False)
            conn.executemany(INSERT_ITEM, inserts.values())
            count_inserted(conn, (row[SOURCE_AT] for row in inserts.values()))
            conn.executemany(_UPDATE, (_update_values(*update) for update in updates.values()))
            if along is not None:
                along(conn, added, before)
            if not self._in_bulk:  # an import's batches: thousands at a time
                index_new(conn)
        if self._in_bulk:
            self._index_when_due()
        self._grew(added)
        return BatchSummary(added, updated, unchanged, skipped)

    def _dated(self, rows: Sequence[Prepared], now: dt.datetime) -> list[Prepared]:
        """The rows dated; those without a time of their own a microsecond apart.

        From `now` (or just after this store's last such record, whichever is later), in
        the order given. One time for a whole batch gave 500 records the same place, and
        a catch trial placed beside one of them could only follow all 500 (ties go by
        id): a run of plants after every batch of an import without times.
        """
        stamp = iso(now)
        moment = max(now, self._untimed_after or now)
        untimed = sum(1 for row in rows if row[_CREATED] is None)
        times = iter(microseconds_apart(moment, untimed))
        self._untimed_after = moment + untimed * _MICROSECOND
        return [dated(row, "" if row[_CREATED] else next(times), stamp) for row in rows]

    _grown = 0
    _analyzed_size = 0

    def _grew(self, added: int) -> None:
        """PostgreSQL: analyze `items` each time this store has grown it by a fifth.

        A bulk import outruns PostgreSQL's own analyze: planning for the few rows it last
        counted, the lookup of a batch's ids read the whole table (195 ms a batch at 50k
        items, hours at a million) and each catch trial's base pick every pending row
        above a random id. Analyzing as the table grows keeps index plans; about 40
        times over a million rows. A login that does not own the table gets a warning
        and the old figures, nothing worse.
        """
        if not added or dialect_of(self.conn).name != "postgresql":
            return
        self._grown += added
        if self._grown >= max(_ANALYZE_AFTER, self._analyzed_size // 5):
            self.conn.execute("ANALYZE items")
            self._analyzed_size += self._grown
            self._grown = 0

    def _existing(
        self, conn: Connection, rows: Sequence[Prepared]
    ) -> dict[tuple[str, str], tuple[str, str, bool]]:
        by_source: dict[str, list[str]] = {}
        for row in rows:
            by_source.setdefault(row[SOURCE_AT], []).append(row[EXTERNAL_ID_AT])
        found: dict[tuple[str, str], tuple[str, str, bool]] = {}
        for source, ids in by_source.items():
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[start : start + LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                for ext, state, chash, planted in conn.execute(
                    "SELECT external_id, state, content_hash, "
                    "EXISTS (SELECT 1 FROM plants WHERE item_id = items.id) FROM items "
                    f"WHERE source = ? AND external_id IN ({marks})",
                    [source, *chunk],
                ):
                    found[(source, ext)] = (state, chash, bool(planted))
        return found


def _last_id(conn: Connection) -> int:
    """The largest item id (0 without items): one index probe."""
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0])


def _update_values(row: Prepared, given_created_at: str | None) -> dict[str, Any]:
    # The record's own time replaces the stored one; a time the import gave it does not.
    return {**dict(zip(INSERT_COLUMNS, row, strict=True)), "given_created_at": given_created_at}


def _rekey_plant(conn: Connection, source: str, external_id: str, batch: Collection[str]) -> None:
    import random

    from store.plant_ids import lookalike

    new = lookalike(conn, source, external_id, random.Random(external_id), avoid=batch)
    assert new is not None  # past the range's end if need be
    conn.execute(
        "UPDATE items SET external_id = ? WHERE source = ? AND external_id = ?",
        (new, source, external_id),
    )
