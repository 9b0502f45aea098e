"""Searching the queue's text: an FTS5 trigram index on SQLite, a substring scan otherwise.

The queue's search box finds items whose id, title or draft contains the typed text,
ignoring case. A `LIKE '%text%'` over three columns reads every row: 0.8 s for a search
that matches nothing at a million items. SQLite's trigram tokenizer indexes every
three-character run, so a phrase query of three or more characters is a substring
match answered from the index (well under a millisecond when nothing matches).

Shorter terms cannot use trigrams; they fall back to `LIKE` (they match so many rows
that a page fills from the first few hundred read). PostgreSQL keeps `ILIKE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.dialect import dialect_of

if TYPE_CHECKING:
    from store.db import Connection

INDEXED_LENGTH = 3
"""The shortest term the trigram index can answer."""

SCHEMA = """
CREATE VIRTUAL TABLE items_fts USING fts5(
    external_id, title, draft,
    content = 'items', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO items_fts (items_fts) VALUES ('rebuild');
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, external_id, title, draft)
    VALUES (new.id, new.external_id, new.title, new.draft);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF external_id, title, draft ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, external_id, title, draft)
    VALUES ('delete', old.id, old.external_id, old.title, old.draft);
    INSERT INTO items_fts (rowid, external_id, title, draft)
    VALUES (new.id, new.external_id, new.title, new.draft);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, external_id, title, draft)
    VALUES ('delete', old.id, old.external_id, old.title, old.draft);
END;
"""
"""Migration m015: an external-content index (the text is stored once, in `items`),
filled from the items already there and kept current by triggers."""


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


def search_clause(term: str, conn: Connection) -> Search:
    """The clause matching `term` in an item's id, title or draft (any case)."""
    if dialect_of(conn).name == "sqlite" and len(term) >= INDEXED_LENGTH:
        # One quoted phrase: FTS5 syntax (AND, NEAR, *, column filters) stays literal.
        phrase = '"' + term.replace('"', '""') + '"'
        matches = "items.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)"
        probe = "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)"
        few = conn.execute(probe, (phrase, NARROW)).fetchone()[0] < NARROW
        # Left alone, SQLite walks the queue's order index and tests each row against the
        # matches: 70 ms per stakes level at a million items when nothing matches. With a
        # few matches, reading those rows and sorting them takes well under a millisecond.
        return Search(matches, [phrase], "items NOT INDEXED" if few else "items")
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return Search(
        "(items.external_id LIKE ? ESCAPE '\\' OR items.title LIKE ? ESCAPE '\\' "
        "OR items.draft LIKE ? ESCAPE '\\')",
        [pattern, pattern, pattern],
    )
