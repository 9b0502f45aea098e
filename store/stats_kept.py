"""Statistics kept from one pass for the next: each event counted once, then only new ones.

A pass over a million events takes seconds (2.2 s on PostgreSQL next door, issue 17);
what it counts up to its last event cannot change while the ledger stays append-only. So
the pass's running counts (`store.stats.Tally`) are kept in the database, in one row of
`stats_kept` with the event they reach, and the next pass counts only the events after
it. The figures are the ones a pass from the first event gives (a test compares them at
every split); what is kept is a cache of the ledger, never a record of its own.

Counted from the first event again when what is kept:
- was written in another `FORMAT` (another version of the counting);
- reaches an event no longer in the ledger with the same hash, or was written before
  the last archive cut (its counts hold archived events);
- counted events of an item whose model changed since (the trigger on `items` or
  `ledger_models` empties the table: calibration groups events by model).

Only a login that sees every event reads or writes it (the owner, a lead on PostgreSQL:
`GRANT … TO signoff_lead`); a reviewer's pass counts what they see from scratch. It is
written after a pass that counted at least `KEEP_AFTER` new events, outside the store's
write lock (it is a cache: a busy or read-only database skips the write).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from store.stats import Row, Tally

FORMAT: Final = 1
"""What the kept state means; another version's is ignored (and replaced)."""
KEEP_AFTER: Final = 10_000
"""New events a pass counts before it keeps its state again."""
KEEP_SHARE: Final = 0.05
"""…and at least this share of those kept before: a write is ~16 bytes an event counted
(a justification key, a time on item) and ~0.6 s at a million, the count of a new event
~2.5 µs, so the passes between two writes count at most a twentieth of the ledger."""

_READ = """
SELECT format, upto, cut, state, looked,
    (SELECT hash FROM ledger WHERE seq = k.upto) = k.upto_hash AS reached
FROM stats_kept AS k WHERE id = 1
"""
CUT: Final = "SELECT coalesce(max(through_seq), 0) FROM archive_cuts"
"""The last archive cut (0: none): events up to it are no longer in the ledger."""
_WRITE = f"""
INSERT INTO stats_kept (id, format, upto, upto_hash, cut, state, looked)
SELECT 1, ?, seq, hash, ?, ?, ? FROM ledger WHERE seq = ? AND ({CUT}) = ?
ON CONFLICT (id) DO UPDATE SET format = excluded.format, upto = excluded.upto,
    upto_hash = excluded.upto_hash, cut = excluded.cut, state = excluded.state,
    looked = excluded.looked
"""
MAY_KEEP: Final = {
    "sqlite": "SELECT 1",
    # Not a lead's (or the owner's) login: no privilege on the table, and it would not see
    # every event to count.
    "postgresql": "SELECT has_table_privilege('stats_kept', 'SELECT, INSERT, UPDATE') "
    "AND signoff_sees_all()",
}
"""Whether this login may read and write the kept state, by engine."""


@dataclass
class Kept:
    """What the last keeping pass counted, and what it needs to go on."""

    cut: int
    """The archive cut when the pass began (its write checks it is still the last)."""
    upto: int = 0
    """The last event counted (0: none: count from the first)."""
    tally: Tally | None = None
    looked: dict[int, Row | None] | None = None
    """Events the figures looked up by seq (retracted, named by incidents), up to `upto`."""
    counted: int = 0
    """Events counted when it was read (`tally.events` then)."""


Keep = Callable[[Callable[[Any], None]], None]
"""How a caller writes: given the write (a function of a connection), runs it in a
transaction of the caller's (`Store`, `Reader`); may skip it."""


def read(conn: Any, *, use: bool = True) -> Kept | None:
    """The kept state if this login may keep one (its tally None when there is none to use).

    None: this login may not keep figures (a reviewer's on PostgreSQL). `use=False`: a
    pass from the first event whatever is kept (`signoff stats --fresh`).
    """
    engine = getattr(conn, "dialect", "sqlite")
    (may,) = conn.execute(MAY_KEEP[engine]).fetchone()
    if not may:
        return None
    (cut,) = conn.execute(CUT).fetchone()
    row = conn.execute(_READ).fetchone() if use else None
    if row is None:
        return Kept(int(cut))
    form, upto, kept_cut, state, looked, reached = row
    if form != FORMAT or kept_cut != cut or not reached:
        return Kept(int(cut))
    tally = loads(bytes(state))
    found = {int(seq): None if found is None else _row(found)
             for seq, found in json.loads(looked).items()}  # fmt: skip
    return Kept(int(cut), int(upto), tally, found, tally.events)


def due(kept: Kept, tally: Tally) -> bool:
    """Whether a pass counted enough new events to keep its state."""
    new = tally.events - kept.counted
    return tally.last > kept.upto and new >= max(KEEP_AFTER, KEEP_SHARE * kept.counted)


def writer(kept: Kept, tally: Tally, looked: dict[int, Row | None]) -> Callable[[Any], None]:
    """The write of a pass's state, once its figures are finished.

    (`Tally.finish` puts the times in order and counts the distinct justifications, as
    `dumps` keeps them.)
    """
    state = dumps(tally)
    upto = tally.last
    seen = {str(seq): row for seq, row in looked.items() if seq <= upto}
    text = json.dumps(seen, separators=(",", ":"))

    def write(conn: Any) -> None:
        conn.execute(_WRITE, [FORMAT, kept.cut, state, text, upto, kept.cut])

    return write


KEEP_WAIT_MS: Final = 100
"""How long a write of kept figures waits for a lock before it is skipped."""


def keep_in(conn: Any, write: Callable[[Any], None]) -> None:
    """Run `write` in a transaction of its own on `conn`, or skip it.

    Skipped when the database is busy or read-only (a cache: the next pass writes it), or
    the connection is in a transaction already. On PostgreSQL without the store's write
    lock: no reviewer waits for the write.
    """
    from store.db import BUSY_TIMEOUT_MS
    from store.errors import DatabaseBusy
    from store.pg import PgConnection

    try:
        if isinstance(conn, PgConnection):
            if conn.in_transaction:
                return
            with conn.write(durable=False, locked=False, wait_ms=KEEP_WAIT_MS) as writing:
                write(writing)
            return
        if conn.in_transaction:
            return
        conn.execute(f"PRAGMA busy_timeout = {KEEP_WAIT_MS}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                write(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except (DatabaseBusy, sqlite3.OperationalError):
        return
    except Exception as error:
        errors = sys.modules.get("psycopg.errors")  # loaded: the store is PostgreSQL's
        if errors is None or not isinstance(error, errors.ReadOnlySqlTransaction):
            raise


def dumps(tally: Tally) -> bytes:
    """A finished tally as bytes (`Tally.finish`: nothing added since).

    Its counts as JSON, then each reviewer's justification keys and times on item
    (int64, little-endian; the times in order): a copy of the arrays, ~10 ms a million.
    """
    if tally.touched:
        raise ValueError("a tally is kept once finished")
    sizes: list[list[Any]] = []
    parts: list[array[int]] = []
    for who, keys in tally.phrases.items():
        times = tally.times[who]
        sizes.append([who, len(keys), len(times), tally.distinct[who]])
        parts += (keys, times)
    head = {
        "events": tally.events, "last": tally.last,
        "actions": [[*key, n] for key, n in tally.actions.items()],
        "groups": [[*key, n] for key, n in tally.groups.items()],
        "records": [[*key, n] for key, n in tally.records.items()],
        "run": tally.run, "best": tally.best,
        "overall": [tally.overall_run, tally.overall_best],
        "planted": tally.planted, "undone": tally.undone, "reviewers": sizes,
    }  # fmt: skip
    text = json.dumps(head, separators=(",", ":")).encode()
    body = b"".join(part.tobytes() for part in parts)
    if sys.byteorder != "little":
        swapped = array("q", body)
        swapped.byteswap()
        body = swapped.tobytes()
    return len(text).to_bytes(8, "little") + text + body


def loads(blob: bytes) -> Tally:
    """The tally `dumps` wrote."""
    size = int.from_bytes(blob[:8], "little")
    head = json.loads(blob[8 : 8 + size])
    tally = Tally()
    tally.events, tally.last = head["events"], head["last"]
    tally.actions = Counter({(who, action): n for who, action, n in head["actions"]})
    tally.groups = Counter({(b, s, m, a): n for b, s, m, a, n in head["groups"]})
    tally.records = Counter({(who, text): n for who, text, n in head["records"]})
    tally.run, tally.best = head["run"], head["best"]
    tally.overall_run, tally.overall_best = head["overall"]
    tally.planted = [_row(row) for row in head["planted"]]
    tally.undone = head["undone"]
    at = 8 + size
    for who, keys, times, distinct in head["reviewers"]:
        for target, n in ((tally.phrases, keys), (tally.times, times)):
            values = array("q")
            values.frombytes(blob[at : at + 8 * n])
            if sys.byteorder != "little":
                values.byteswap()
            target[who] = values
            at += 8 * n
        tally.distinct[who] = distinct
    return tally


def _row(values: list[Any]) -> Row:
    found: Row = tuple(values)
    return found
