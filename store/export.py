"""Exports of the ledger: streamed, atomic, with a manifest an auditor can check.

Three formats: `jsonl` (the canonical, complete record, one event per line with its
hashes), `csv` (for spreadsheets, formula-safe) and `md` (a readable report). All
stream from one cursor, so memory stays flat however long the ledger is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from store.clock import iso
from store.codec import canonical_json
from store.dialect import ITEMS_OF_EVENTS, dialect_of, scan, stream
from store.ledger import EVENT_FIELDS, HASHED_FIELDS

if TYPE_CHECKING:
    from store.db import Connection
    from store.stats import Stats
    from store.stats_kept import Keep

FORMATS: Final = ("jsonl", "csv", "md")
MANIFEST_VERSION: Final = 1
MD_TITLE: Final = "signoff decision log"
"""The Markdown report's title."""


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which events an export holds; every field narrows it."""

    since: str | None = None
    """ISO time (inclusive) as stored, e.g. `2026-11-01T00:00:00.000000Z`."""
    until: str | None = None
    """ISO time (exclusive)."""
    reviewer: str | None = None
    action: str | None = None
    source: str | None = None
    stakes: str | None = None
    include_planted: bool = False
    """Catch trials (planted wrong drafts) are not real decisions: left out unless asked."""
    through_seq: int | None = None
    """Events up to this number only (verification re-renders an export as it was)."""
    after_seq: int | None = None
    """Events after this number only (a range of an export rendered on its own)."""

    def _compared(self) -> list[tuple[str, str, Any]]:
        """(column, operator, value) of each field the filter sets."""
        fields = (
            ("e.recorded_at", ">=", self.since),
            ("e.recorded_at", "<", self.until),
            ("e.reviewer", "=", self.reviewer),
            ("e.action", "=", self.action),
            ("e.source", "=", self.source),
            ("i.stakes", "=", self.stakes),
        )
        return [field for field in fields if field[2] is not None]

    @property
    def reads_items(self) -> bool:
        """Whether `sql` reads the events' items (`i`), not the ledger alone."""
        return any(column.startswith("i.") for column, _, _ in self._compared())

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause over `ledger AS e JOIN items AS i` and its arguments."""
        compared = self._compared()
        clauses = [f"{column} {op} ?" for column, op, _ in compared]
        args: list[Any] = [value for _, _, value in compared]
        if self.through_seq is not None:
            clauses.append("e.seq <= ?")
            args.append(self.through_seq)
        if self.after_seq is not None:
            clauses.append("e.seq > ?")
            args.append(self.after_seq)
        if not self.include_planted:
            clauses.append("NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.item_id = e.item_id)")
        return (" AND ".join(clauses) or "TRUE"), args

    def as_json(self, *, planted_exist: bool = True) -> dict[str, str]:
        """The filter as written into the manifest (unset fields left out).

        Leaving out planted events narrows an export only when the ledger has some, so
        the filter says so only then (an unfiltered export must hold every event).
        """
        hidden = ("include_planted", "through_seq", "after_seq")
        shown = {k: v for k, v in asdict(self).items() if v is not None and k not in hidden}
        if planted_exist and not self.include_planted:
            shown["planted"] = "excluded"
        return shown


_COLUMNS = ", ".join(f"e.{name}" for name in EVENT_FIELDS)
_EVENTS: Final = f"ledger AS e {ITEMS_OF_EVENTS}"
"""Events with their items, as `ExportFilter.sql` reads them."""
_EXTRA = "i.kind, i.title, i.stakes, i.model, i.draft"


def events(
    conn: Connection,
    where: ExportFilter,
    *,
    item_text: bool = True,
    seq: int | None = None,
    alone: bool = False,
) -> Iterator[dict[str, Any]]:
    """Stream events in chain order with the item fields a report needs.

    `item_text=False` leaves out the item's title and draft (statistics need neither);
    `seq` picks one event (if it passes the filter). `alone`: nothing else runs on the
    connection until every event is read (an export), so the server may send them
    while they are read (`store.dialect.stream`).
    """
    clause, args = where.sql()
    if seq is not None:
        clause, args = f"({clause}) AND e.seq = ?", [*args, seq]
    extra = _EXTRA if item_text else "i.kind, '' AS title, i.stakes, i.model, '' AS draft"
    names = (*EVENT_FIELDS, "kind", "title", "stakes", "model", "draft")
    with (stream if alone else scan)(
        conn,
        f"SELECT {_COLUMNS}, {extra} FROM {_EVENTS} WHERE {clause} ORDER BY e.seq",
        args,
    ) as cursor:
        for row in cursor:
            yield dict(zip(names, row, strict=True))


_ITEM_COLUMNS: Final = frozenset({"title", "kind", "stakes", "model", "draft"})


def event_rows(
    conn: Connection,
    where: ExportFilter,
    names: Sequence[str],
    reads: Mapping[str, str] | None = None,
) -> AbstractContextManager[Any]:
    """A stream of the events as tuples of the columns `names` (chain order).

    Names are the ledger's, or an item's for `title`, `kind`, `stakes`, `model` and
    `draft`; `reads` may give a column's SQL, `{}` standing for the column. A cursor,
    not an iterator: the writers fetch it in batches (`fetchmany`).
    """
    clause, args = where.sql()
    given = reads or {}
    columns = ", ".join(
        given.get(c, "{}").format(f"i.{c}" if c in _ITEM_COLUMNS else f"e.{c}") for c in names
    )
    return stream(
        conn,
        f"SELECT {columns} FROM {_EVENTS} WHERE {clause} ORDER BY e.seq",
        args,
    )


def jsonl_line(event: dict[str, Any]) -> str:
    """The canonical record of one event: exactly the hashed fields plus its hash."""
    record = {name: event[name] for name in HASHED_FIELDS}
    if event["oversight"] is not None:
        record["oversight"] = event["oversight"]
    record["hash"] = event["hash"]
    return canonical_json(record) + "\n"


def planted_events_exist(conn: Connection) -> bool:
    """Whether any ledger event is a decision on a planted draft."""
    row = conn.execute(
        "SELECT 1 FROM plants AS p WHERE EXISTS (SELECT 1 FROM ledger AS e "
        "WHERE e.item_id = p.item_id) LIMIT 1"
    ).fetchone()
    return row is not None


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an export holds, written beside it; keep a copy somewhere else."""

    file: str
    format: str
    events: int
    first_seq: int | None
    last_seq: int | None
    ledger_head: str
    """Hash of the newest ledger event when the export ran (filtered or not)."""
    ledger_events: int
    """How many events the whole ledger had then."""
    filter: dict[str, str]
    sha256: str
    exported_at: str
    signoff_version: str
    manifest_version: int = MANIFEST_VERSION
    use_cards: dict[str, str] = field(default_factory=dict)
    """Source → hash of the AI use card in force at export (see `store.cards`)."""

    def write(self, path: Path) -> None:
        """Write as pretty JSON, atomically."""
        with atomic_write(path) as stream:
            stream.write(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load a manifest; raises ValueError naming what is wrong."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(f"{path}: not a signoff manifest ({error})") from None


def manifest_path(export: Path) -> Path:
    """`decisions.csv` → `decisions.csv.manifest.json`."""
    return export.with_name(export.name + ".manifest.json")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def atomic_write(target: Path, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Write to a temporary file beside `target`, then rename it into place.

    An error or interrupt leaves no file at `target` (and removes the temporary one),
    so a truncated export can never pass for a complete one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    # mkstemp makes the file private (0600); an export should get the usual mode.
    umask = os.umask(0)
    os.umask(umask)
    Path(temp).chmod(0o666 & ~umask)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        Path(temp).replace(target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def ledger_state(conn: Connection) -> tuple[str, int]:
    """(head hash, event count) of the live ledger."""
    from store.codec import GENESIS_HASH

    row = conn.execute("SELECT hash, seq FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    return (GENESIS_HASH, 0) if row is None else (str(row[0]), int(row[1]))


def now_iso(now: dt.datetime) -> str:
    """Export timestamps in the store's fixed format."""
    return iso(now)


def stats_for(
    conn: Connection, where: ExportFilter, *, tally: Any = None, after: int = 0,
    looked: dict[int, Any] | None = None,
) -> Any:  # fmt: skip
    """`store.stats.compute` over the filtered events, looking up retracted ones by seq.

    Given a `tally` (`store.stats_kept`), it goes on counting the events after `after`
    into it; `looked` answers look-ups already made and keeps the new ones.
    """
    from store.register import contradicted
    from store.stats import STATS_BATCH, STATS_COLUMNS, Tally
    from store.views import band_sql

    clause, args = where.sql()
    joins, model = dialect_of(conn).event_model
    if where.reads_items and ITEMS_OF_EVENTS not in joins:
        joins += f" {ITEMS_OF_EVENTS}"
    named = {"band": band_sql("e.shown_confidence"), "model": model}
    columns = ", ".join(named.get(name, name) for name in STATS_COLUMNS)
    select = f"SELECT {columns} FROM ledger AS e {joins}"
    found = {} if looked is None else looked

    def lookup(seq: int) -> Any:
        if seq not in found:
            found[seq] = conn.execute(
                f"{select} WHERE ({clause}) AND e.seq = ?", [*args, seq]
            ).fetchone()
        return found[seq]

    counting = Tally() if tally is None else tally
    with stream(conn, f"{select} WHERE ({clause}) AND e.seq > ? ORDER BY e.seq",
                [*args, after]) as cursor:  # fmt: skip
        while batch := cursor.fetchmany(STATS_BATCH):
            counting.add(batch)
    wrong = frozenset(contradicted(conn))
    stood = frozenset(contradicted(conn, "unfounded"))
    # Look-ups come after the last batch: one connection serves both.
    return counting.finish(lookup, wrong, stood)


def ledger_stats(conn: Connection, keep: Keep | None = None, *, fresh: bool = False) -> Stats:
    """Statistics over the whole ledger, planted decisions included (CLI, app, readers).

    Goes on from the figures an earlier pass kept, and keeps its own through `keep` when
    it counted enough new events (`store.stats_kept`). `fresh`: counts from the first
    event whatever was kept (and keeps what it counted).
    """
    from store import stats_kept
    from store.stats import Tally

    kept = stats_kept.read(conn, use=not fresh)
    tally = Tally() if kept is None or kept.tally is None else kept.tally
    looked = {} if kept is None or kept.looked is None else kept.looked
    figures: Stats = stats_for(conn, ExportFilter(include_planted=True), tally=tally,
                               after=0 if kept is None else kept.upto, looked=looked)  # fmt: skip
    if kept is not None and keep is not None and stats_kept.due(kept, tally):
        keep(stats_kept.writer(kept, tally, looked))
    return figures


class Snapshot:
    """One read transaction over the ledger (`Store.snapshot()`).

    An export's file, its event count, its range and the ledger head in its manifest
    must all describe one moment, whatever reviewers record meanwhile.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def state(self) -> tuple[str, int]:
        """(head hash, event count) of the ledger."""
        return ledger_state(self._conn)

    def planted_exist(self) -> bool:
        """Whether any event is a decision on a planted draft."""
        return planted_events_exist(self._conn)

    def seq_range(self, where: ExportFilter) -> tuple[int | None, int | None]:
        """First and last event number the filter matches (None, None: none)."""
        clause, args = where.sql()
        # The first and the last by the ledger's order, not min() and max() over the
        # join: those read every event (0.32 s of a CSV export at a million).
        first, last = (
            self._conn.execute(
                f"SELECT e.seq FROM {_EVENTS} WHERE {clause} ORDER BY e.seq {order} LIMIT 1",
                args,
            ).fetchone()
            for order in ("ASC", "DESC")
        )
        if first is None or last is None:
            return None, None
        return int(first[0]), int(last[0])

    @classmethod
    def filter_of(cls, manifest: Manifest, *, include_planted: bool) -> ExportFilter:
        """The filter an export was made with, through its last event."""
        keys = ("since", "until", "reviewer", "action", "source", "stakes")
        given: dict[str, Any] = {k: manifest.filter[k] for k in keys if k in manifest.filter}
        return ExportFilter(**given, include_planted=include_planted,
                            through_seq=manifest.last_seq)  # fmt: skip

    def write(self, fmt: str, stream: IO[str], where: ExportFilter) -> int:
        """Write the matching events as jsonl, csv or md; returns how many."""
        from store.writers import write_csv, write_jsonl, write_md

        if fmt == "jsonl":
            return write_jsonl(stream, events(self._conn, where, alone=True))
        if fmt == "csv":
            return write_csv(stream, self._conn, where)
        return write_md(stream, self._conn, where, title=MD_TITLE)
