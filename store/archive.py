"""Archiving: old ledger events move to a checked file; their hashes stay behind.

Retention law asks for logs kept "at least six months" (EU AI Act Art. 19, 26(6)), and a
ledger of millions of events is slow to read whole. `archive` moves the events recorded
before a date — never younger than the configured minimum — into a JSONL file (the
export format: each line recomputes to its hash), checks the file against the live
ledger line by line, and only then deletes those rows in one transaction with a record
of the cut. Each archived event's (seq, prev_hash, hash) is kept, so the chain still
links from the first event across the cut, and every checkpoint still checks.

A cut never splits what still refers back: a retraction and what it retracts, an
escalation and its resolution, an undelivered decision, a first approval waiting for
its second reviewer. The cut moves earlier until nothing live points into it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from store.chain_split import processors
from store.clock import iso
from store.errors import StoreError

if TYPE_CHECKING:
    from store import Store
    from store.db import Connection

DEFAULT_MINIMUM_DAYS: Final = 183
"""Six months: nothing younger can be archived unless the config says otherwise."""


@dataclass(frozen=True, slots=True)
class Cut:
    """Events 1..through_seq live in an archive file, not in the ledger."""

    through_seq: int
    through_hash: str
    file_name: str
    file_sha256: str
    archived_at: str
    archived_by: str


def cuts(conn: Connection) -> list[Cut]:
    """Every archive cut, oldest first."""
    return [
        Cut(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))
        for row in conn.execute(
            "SELECT through_seq, through_hash, file_name, file_sha256, archived_at, "
            "archived_by FROM archive_cuts ORDER BY through_seq"
        )
    ]


def plan_cut(store: Store, before: dt.datetime, minimum_days: int) -> int:
    """The last event that can be archived (0: none can).

    Recorded before `before`, and nothing that stays points into the events up to it.

    Raises:
        StoreError: `before` is inside the retention minimum.
    """
    now = store.now()
    limit = now - dt.timedelta(days=minimum_days)
    if before > limit:
        raise StoreError(
            f"events younger than {minimum_days} days are kept (retention minimum): archive "
            f"before {limit:%Y-%m-%d} at the latest"
        )
    conn = store.conn
    done = conn.execute("SELECT coalesce(max(through_seq), 0) FROM archive_cuts").fetchone()[0]
    (last,) = conn.execute("SELECT max(seq) FROM ledger WHERE recorded_at < ?", (iso(before),)
                           ).fetchone()  # fmt: skip
    cut = settled(conn, int(last or 0))
    return cut if cut > done else 0


def settled(conn: Connection, cut: int) -> int:
    """The latest cut at or before `cut` that splits nothing still referring back.

    The newest event always stays (it is the chain's head), and so does every event that
    something live points at: a retraction's target, an escalation its resolution (or an
    open lead's claim) needs, an undelivered decision, a first approval awaiting its
    second reviewer.
    """
    head = int(conn.execute("SELECT coalesce(max(seq), 0) FROM ledger").fetchone()[0])
    cut = min(cut, head - 1)
    # Everything live that must keep its target: the target (x) must stay unless the
    # referrer (y) goes too.
    pairs = conn.execute(
        "SELECT retracts, seq FROM ledger WHERE retracts IS NOT NULL "
        # A lead's claim on an escalation: its resolution, or (still open) the future.
        "UNION ALL SELECT c.resolves, coalesce(e.seq, "
        "CASE WHEN c.ended_at IS NULL THEN ? ELSE 0 END) FROM claims AS c "
        "LEFT JOIN ledger AS e ON e.claim_id = c.id WHERE c.resolves IS NOT NULL "
        "UNION ALL SELECT event_seq, ? FROM outbox WHERE delivered_at IS NULL "
        "UNION ALL SELECT first_seq, ? FROM second_reviews",
        (head + 1, head + 1, head + 1),
    ).fetchall()
    moved = True
    while moved:
        moved = False
        for target, referrer in pairs:
            if target <= cut < referrer:
                cut, moved = target - 1, True
    return cut


@dataclass(frozen=True, slots=True)
class Archived:
    """What `archive` did."""

    cut: Cut
    events: int
    """Events moved by this cut."""


def archive(
    store: Store, through: int, file: Path, by: str, minimum_days: int = DEFAULT_MINIMUM_DAYS
) -> Archived:
    """Move events up to `through` into `file` (JSONL), checked, then delete them here.

    The file is written and read back first (each line's hash recomputed and found in
    the ledger); the ledger rows go only after that, in one transaction with the cut's
    record and the hashes kept.

    Raises:
        StoreError: Event `through` is younger than `minimum_days`, the chain does not
            verify, the file cannot be written or does not check, or the database refused
            the cut (nothing is deleted).
    """
    from store.export import ExportFilter, Manifest, atomic_write, file_sha256

    last = store.event(through)
    if last is None:
        raise StoreError(f"there is no ledger event {through} to archive through")
    if settled(store.conn, through) != through:  # whoever the caller, the same rules
        raise StoreError(
            f"event {through} cannot be the cut: something that stays still refers to an "
            "event up to it (a retraction, a resolution, an undelivered decision, a second "
            "review); `plan_cut` finds the latest cut that can be made"
        )
    if last.recorded_at > store.now() - dt.timedelta(days=minimum_days):
        raise StoreError(
            f"event {through} is younger than {minimum_days} days (retention minimum); "
            "nothing archived"
        )
    report = store.verify_chain(workers=processors())
    if not report.ok:
        raise StoreError(f"the ledger does not verify ({report.problem}); nothing archived")
    conn = store.conn
    done = int(conn.execute("SELECT coalesce(max(through_seq), 0) FROM archive_cuts"
                            ).fetchone()[0])  # fmt: skip
    where = ExportFilter(include_planted=True, through_seq=through)  # earlier cuts are gone
    with store.snapshot() as snap:
        head, total = snap.state()
        try:
            with atomic_write(file) as stream:
                count = snap.write("jsonl", stream, where)
        except OSError as error:
            raise StoreError(f"{file}: cannot write ({error.strerror or error})") from None
    digest = file_sha256(file)
    manifest = Manifest(
        file=file.name, format="jsonl", events=count, first_seq=done + 1, last_seq=through,
        ledger_head=head, ledger_events=total, filter=where.as_json(), sha256=digest,
        exported_at=iso(store.now()), signoff_version="archive", use_cards=dict(store.use_cards),
    )  # fmt: skip
    checked = store.verify_export(manifest, file)
    if not checked.ok or count != through - done:
        file.unlink(missing_ok=True)
        raise StoreError(f"{file}: the archive did not check ({'; '.join(checked.problems[:2])}"
                         f"); nothing archived")  # fmt: skip
    hashes = (store.hash_at(1) or "", store.hash_at(through) or "")
    now = iso(store.now())
    try:
        with store._immediate() as conn:
            conn.execute(
                "INSERT INTO archived (seq, prev_hash, hash) SELECT seq, prev_hash, hash "
                "FROM ledger WHERE seq > ? AND seq <= ? ORDER BY seq",
                (done, through),
            )
            conn.execute(
                "INSERT INTO archive_cuts (through_seq, through_hash, first_hash, file_name, "
                "file_sha256, archived_at, archived_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (through, hashes[1], hashes[0], file.name, digest, now, by),
            )
            conn.execute(
                "DELETE FROM outbox WHERE event_seq <= ? AND delivered_at IS NOT NULL",
                (through,),
            )
            # Ended claims keep their lease history; the escalation they resolved is archived
            # (the link itself is hashed in the resolution's `oversight`, in the file).
            conn.execute("UPDATE claims SET resolves = NULL WHERE resolves <= ?", (through,))
            conn.execute("DELETE FROM ledger WHERE seq > ? AND seq <= ?", (done, through))
    except (StoreError, sqlite3.Error) as error:
        file.unlink(missing_ok=True)  # the rows stayed: the file must not suggest otherwise
        raise StoreError(f"{error}; nothing archived") from None
    manifest.write(file.with_name(file.name + ".manifest.json"))
    cut = Cut(through, hashes[1], file.name, digest, now, by)
    return Archived(cut, through - done)
