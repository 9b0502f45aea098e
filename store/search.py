"""Searching the queue's text: an FTS5 trigram index on SQLite, a substring scan otherwise.

The queue's search box finds items whose id, title or draft contains the typed text,
ignoring case. A `LIKE '%text%'` over three columns reads every row: 0.8 s for a search
that matches nothing at a million items. SQLite's trigram tokenizer indexes every
three-character run, so for a term of three or more characters the index gives the few
items holding all of its runs, and only those are tested for the term itself (well
under a millisecond when nothing matches).

Shorter terms cannot use trigrams; they fall back to `LIKE` (they match so many rows
that a page fills from the first few hundred read). PostgreSQL runs `ILIKE` over the
three columns joined (`PG_TEXT`), which its planner answers from a pg_trgm trigram index
(schema pg006) for terms of three characters or more.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.dialect import dialect_of

if TYPE_CHECKING:
    from store.db import Connection

INDEXED_LENGTH = 3
"""The shortest term the trigram index can answer."""

_TABLE = """
CREATE VIRTUAL TABLE items_fts USING fts5(
    external_id, title, draft,
    content = 'items', content_rowid = 'id', tokenize = 'trigram'{detail}
);
INSERT INTO items_fts (items_fts) VALUES ('rebuild');
"""
_TRIGGERS = """
CREATE TRIGGER items_fts_update AFTER UPDATE OF external_id, title, draft ON items
WHEN old.id <= ({mark}) BEGIN
    INSERT INTO items_fts (items_fts, rowid, external_id, title, draft)
    VALUES ('delete', old.id, old.external_id, old.title, old.draft);
    INSERT INTO items_fts (rowid, external_id, title, draft)
    VALUES (new.id, new.external_id, new.title, new.draft);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items
WHEN old.id <= ({mark}) BEGIN
    INSERT INTO items_fts (items_fts, rowid, external_id, title, draft)
    VALUES ('delete', old.id, old.external_id, old.title, old.draft);{lowered}
END;
"""
_DOCSIZE_MARK = "SELECT coalesce(max(id), 0) FROM items_fts_docsize"
FIRST_SCHEMA = _TABLE.format(detail="") + _TRIGGERS.format(mark=_DOCSIZE_MARK, lowered="")
"""Migration m015, as it shipped: an external-content index (the text is stored once, in
`items`), filled from the items already there. New items are indexed in bulk by
`index_new`, not by an insert trigger: FTS5 writes a segment per triggered row (it
flushes at each statement savepoint), which made a 200k import 2.7x slower; one
`INSERT … SELECT` at the end of the import costs a fifth of that. So the index holds
exactly the items up to a watermark (the largest id in its `_docsize` shadow table);
changes to those rows are kept by the triggers, and `search_clause` scans the few rows
above it, so a search is right whatever wrote the items. A 'delete' for a row never
indexed would corrupt an external-content index, hence the triggers' `WHEN`."""

MERGE = 16
"""Segments of a level FTS5 merges into one (its `automerge`; SQLite's default is 4).

Each batch an import indexes is a new segment; merging them four at a time re-wrote
the index so often that indexing took 19.7 s of a million-record import's 42 s on the
writer (22 µs a row at a million, 10 at 100k). Merging 16 at a time halves the levels:
13.4-13.7 s. A search reads more segments, still under a millisecond at a million items
(no-match p99 0.58-0.73 ms against 0.48-1.30)."""
MERGE_SQL = f"INSERT INTO items_fts (items_fts, rank) VALUES ('automerge', {MERGE})"
"""Migration m018."""

_AGAIN = "DROP TRIGGER items_fts_update;\nDROP TRIGGER items_fts_delete;\nDROP TABLE items_fts;\n"
SCHEMA_WITHOUT_POSITIONS = (
    _AGAIN
    + _TABLE.format(detail=", detail = none")
    + _TRIGGERS.format(mark=_DOCSIZE_MARK, lowered="")
    + MERGE_SQL
    + ";\n"
)
"""Migration m020: the same index, holding which items have each trigram but not where
(`detail = none`). Indexing is per row and most of its cost was the positions: at a
million bench records the whole `signoff import` took 29.1 / 29.8 / 29.5 s with them
and 25.6 / 25.6 / 25.8 s without, and the database 838 MB against 593. A substring is
no longer a phrase query (`detail = none` has none): the index gives the items holding
all of the term's trigrams, and `search_clause` keeps those that hold the term itself."""

_WATERMARK = "SELECT upto FROM items_fts_mark"

SCHEMA = (
    _AGAIN
    + _TABLE.format(detail=", detail = none, columnsize = 0")
    + "CREATE TABLE items_fts_mark (upto INTEGER NOT NULL);\n"
    + "INSERT INTO items_fts_mark SELECT coalesce(max(id), 0) FROM items;\n"
    + _TRIGGERS.format(
        mark=_WATERMARK,
        # An item deleted from the top of the queue frees its id for the next one
        # (SQLite reuses the largest rowid + 1), which must be above the watermark.
        lowered="\n    UPDATE items_fts_mark SET upto = min(upto, "
        "(SELECT coalesce(max(id), 0) FROM items));",
    )
    + MERGE_SQL
    + ";\n"
)
"""Migration m021: the same index without each item's size in trigrams (`columnsize = 0`,
no `_docsize` shadow table), and its watermark (the largest id it holds) kept in
`items_fts_mark`: nothing reads the sizes (no ranking), and writing a row of them for
every item was ~0.6 s of indexing a million bench records (3.2-3.4 → 2.6-2.7 s alone).
The mark is set where the index is written: by `index_new` and, when the top item goes,
by the delete trigger; a rebuild sets it to the largest item id."""


BULK_INDEX_ROWS = 5000
"""Items a bulk writer (an import, a planting run) leaves unindexed before it indexes them.

Indexed with each 500-record batch, each statement wrote a small segment for FTS5 to
merge. At a million bench records, indexing took 5.7 / 6.5 s of the import's writer,
4.4 / 4.8 s 5,000 at a time, and its import 19.7 / 22.8 → 17.7 / 19.8 s (alternated). A
planting run after it indexed each of its ~140 transactions' plants: small segments
merged into those large ones, and the run took 8.0-8.2 s against 6.1-6.3 until it too
indexed 5,000 at a time. Each such catch-up is a write of its own (~25 ms at a million
items), so no transaction holds the lock longer for it. Meanwhile a search scans those
few items by id (`search_clause`'s tail), and the bulk writer indexes the rest when it
ends (`StoreBase.bulk`)."""


def unindexed(conn: Connection) -> int:
    """Ids above the search index's watermark: at least as many as the items it lacks.

    Two index probes; 0 on PostgreSQL (its trigram index is an ordinary one).
    """
    if dialect_of(conn).name != "sqlite":
        return 0
    row = conn.execute(f"SELECT (SELECT coalesce(max(id), 0) FROM items) - ({_WATERMARK})")
    return int(row.fetchone()[0])


def index_new(conn: Connection) -> None:
    """Index the items above the watermark, in one statement (inside the caller's write)."""
    if dialect_of(conn).name != "sqlite":
        return
    conn.execute(
        "INSERT INTO items_fts (rowid, external_id, title, draft) "
        f"SELECT id, external_id, title, draft FROM items WHERE id > ({_WATERMARK}) ORDER BY id"
    )
    # In the caller's write: no item was added between the two statements.
    conn.execute("UPDATE items_fts_mark SET upto = (SELECT coalesce(max(id), 0) FROM items)")


_JOIN = "\x01"
PG_TEXT = "items.external_id || E'\\x01' || items.title || E'\\x01' || items.draft"
"""Id, title and draft as PostgreSQL's trigram index holds them: one text, the columns
joined by a control character (`_JOIN`), so a term without it matches the whole exactly
where it matches a column. The search box cannot type it (it keeps visible text); a
term that holds it (`signoff assign --search` takes any bytes) is searched column by
column."""

NARROW = 2000
"""A term with fewer matches than this is looked up from its matches, sorted after."""


@dataclass(frozen=True, slots=True)
class Search:
    """How a filtered query over `items` should read it for one search term."""

    clause: str
    """The `WHERE` clause (ANDed with the filter's others)."""
    args: list[Any]
    """Its arguments."""
    table: str = "items"
    """The `FROM` item: `items NOT INDEXED` makes SQLite read rows by id from the matches."""
    counted: str = "items"
    """The `FROM` item for counting the matches. A count tests every match, which from the
    index is best read by id, in id order: walking the order index read each row at a
    random place (a term in every item of a million: 1.16 s against 0.60 s)."""
    by_row: tuple[str, list[Any]] | None = None
    """The clause and arguments for a handful of rows found another way (an open page's
    claimed items), tested one by one: `clause` would read all the index's matches for
    them, for a common term a million (an open page at a million, 153 → 305 ms). None:
    `clause` itself, which asks no index."""

    def for_rows(self) -> tuple[str, list[Any]]:
        """`by_row`, or `clause` and `args` where they ask no index."""
        return self.by_row or (self.clause, self.args)


def search_clause(term: str, conn: Connection) -> Search:
    """The clause matching `term` in an item's id, title or draft (any case)."""
    if isinstance(conn, sqlite3.Connection) and len(term) >= INDEXED_LENGTH:
        trigrams = _trigrams(term)
        like, like_args = like_clause(term)
        # The index gives the items holding every trigram of the term, anywhere in any of
        # the three columns; only those holding the term itself are kept (`_exact`).
        exact, exact_args = _exact(term, conn)
        matches = f"(items.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?) AND {exact})"
        args = [trigrams, *exact_args]
        # The watermark before the probe: an item an import indexes between the two is
        # either above it (the tail's scan finds it) or seen by the probe.
        mark = conn.execute(_WATERMARK).fetchone()[0]
        probe = "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)"
        offered = conn.execute(probe, (trigrams, NARROW)).fetchone()[0]
        unseen = conn.execute("SELECT 1 FROM items WHERE id > ? LIMIT 1", (mark,)).fetchone()
        # A handful of rows found another way is tested row by row; when nothing indexed
        # holds the trigrams, only rows the index has not seen can match, if any.
        by_row = (exact, exact_args)
        if not offered:
            # Nothing holds the trigrams: no statement need ask the index again (a page
            # asks it once per stakes level, then the count: 1.24 → 0.47 ms at a million).
            # One seek by id that finds nothing (`IN ()` is planned as a scan).
            matches, args = "items.id IN (NULL)", []
            by_row = (
                (f"(items.id > ? AND {exact})", [mark, *exact_args]) if unseen else (matches, args)
            )
        # Left alone, SQLite walks the queue's order index and tests each row against the
        # matches: 70 ms per stakes level at a million items when nothing matches. With a
        # few matches, reading those rows and sorting them takes well under a millisecond.
        table = "items NOT INDEXED" if offered < NARROW else "items"
        if unseen:
            tail = f"(items.id IN (SELECT id FROM items WHERE id > ? AND {like}))"
            matches, args = f"({matches} OR {tail})", [*args, mark, *like_args]
        return Search(matches, args, table, counted="items NOT INDEXED", by_row=by_row)
    like, args = like_clause(term)
    pg = dialect_of(conn).name == "postgresql"
    if pg and len(term) >= INDEXED_LENGTH and _JOIN not in term:
        # The expression of the trigram index (pg006); without the extension it scans.
        return Search(f"({PG_TEXT}) LIKE ? ESCAPE '\\'", args[:1])
    return Search(like, args)


def _exact(term: str, conn: sqlite3.Connection) -> tuple[str, list[Any]]:
    """SQLite: `term` in the id, title or draft, in any case, Unicode's too.

    LIKE keeps most (in C); `signoff_has` sees only the rest (another case of a non-ASCII
    letter), so a search matching a million items costs ~0.5 s, not ~0.9.
    """
    like, like_args = like_clause(term)
    conn.create_function(_HAS, 4, _has, deterministic=True)
    clause = f"({like} OR {_HAS}(items.external_id, items.title, items.draft, ?))"
    return clause, [*like_args, term.lower()]


def _trigrams(term: str) -> str:
    """The FTS5 query for items holding every three-letter run of `term` (any order).

    Each run is a quoted one-token phrase, so FTS5 syntax in the term (AND, NEAR, *,
    column filters) stays literal; the tokenizer folds their case as it folded the items'.
    """
    runs = dict.fromkeys(term[i : i + 3] for i in range(len(term) - 2))
    return " AND ".join('"' + run.replace('"', '""') + '"' for run in runs)


_HAS = "signoff_has"


def _has(external_id: str, title: str, draft: str, lowered: str) -> bool:
    """Whether `lowered` (a term in lower case) is in the id, title or draft, in any case."""
    return lowered in external_id.lower() or lowered in title.lower() or lowered in draft.lower()


def like_clause(term: str) -> tuple[str, list[Any]]:
    """The scan: `term` as a literal substring of id, title or draft (ASCII case folded)."""
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return (
        "(items.external_id LIKE ? ESCAPE '\\' OR items.title LIKE ? ESCAPE '\\' "
        "OR items.draft LIKE ? ESCAPE '\\')",
        [pattern, pattern, pattern],
    )
