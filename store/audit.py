"""Check an export against its manifest and against the live ledger.

A hash chain alone cannot reveal a truncated tail or a wholesale rebuild; a manifest
kept elsewhere can. Each check reports where it failed, in words.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, cast

from providers.text import counted
from store.chain import hash_at
from store.export import Manifest, file_sha256
from store.ledger import HASHED_FIELDS, event_hash

if TYPE_CHECKING:
    from store.chain_split import Split
    from store.db import Connection


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The verdict on one export."""

    ok: bool
    checked: int
    """Events read back from the file."""
    problems: list[str]


def verify_export(
    conn: Connection, manifest: Manifest, file: Path, split: Split | None = None
) -> AuditReport:
    """Check an export file against its manifest and the live ledger.

    Checks the file hash, the event count, every event's own hash, its place in the
    live ledger, and the ledger head recorded at export time. With `split`, a long
    CSV or Markdown export is rendered again in several processes
    (`store.audit_ranges`).
    """
    problems: list[str] = []
    if not file.exists():
        return AuditReport(False, 0, [f"{file}: no such file"])
    if file_sha256(file) != manifest.sha256:
        problems.append("its SHA-256 differs from the manifest's (the file changed)")
    live = _LiveLedger(conn)
    head_seq, head_hash = manifest.ledger_events, manifest.ledger_head
    if head_seq and hash_at(conn, head_seq) != head_hash:
        problems.append(
            f"the live ledger no longer has event {head_seq} with the head hash recorded at "
            "export time: it was truncated or rebuilt"
        )
    try:
        checked = _check_contents(conn, manifest, file, live, problems, split)
    except UnicodeDecodeError:  # a signoff export is UTF-8 throughout
        problems.append("it is not UTF-8 text: it was edited, or is not a signoff export")
        return AuditReport(False, 0, problems)
    return AuditReport(not problems, checked, problems)


def _check_contents(
    conn: Connection, manifest: Manifest, file: Path, live: _LiveLedger, problems: list[str],
    split: Split | None,
) -> int:  # fmt: skip
    """Check the file's events (adding to `problems`); returns how many were read."""
    checked = 0
    if manifest.format == "csv":
        # Byte for byte what the verified ledger renders: each row's number, order and
        # hash are then the live ledger's, and reading the rows one by one (6.6 s of a
        # million's 14.9) would find nothing. Only a file that differs is read so, to
        # name what is wrong where it can.
        differs, rendered = _rendered_again(conn, manifest, file, split)
        if not differs:
            if rendered != manifest.events:
                problems.append(
                    f"it holds {counted(rendered, 'event')}; the manifest says {manifest.events:,}"
                )
            return rendered
    if manifest.format in ("jsonl", "csv"):
        jsonl = manifest.format == "jsonl"
        reader: Generator[Any, None, None] = _jsonl(file) if jsonl else _csv(file)
        rows: Iterator[tuple[int, Read]] = enumerate(reader, 1) if jsonl else reader
        previous: int | None = None
        try:
            for line, read in rows:
                checked += 1
                problems.extend(_check_event(line, read, manifest, live, previous))
                previous = _int(read[0])
                if len(problems) > 20:
                    problems.append("… stopping after 20 problems")
                    break
        finally:
            reader.close()
    else:
        checked = manifest.events
    if manifest.format != "md" and checked != manifest.events and len(problems) <= 20:
        problems.append(
            f"it holds {counted(checked, 'event')}; the manifest says {manifest.events:,}"
        )
    if manifest.format == "md" and not problems:
        problems.extend(_rendered_again(conn, manifest, file, split)[0])
    elif manifest.format == "csv" and not problems:
        problems.extend(differs)  # no row said more than that the rendering differs
    return checked


def _rendered_again(
    conn: Connection, manifest: Manifest, file: Path, split: Split | None
) -> tuple[list[str], int]:
    """Render the events again and compare them with the file as they are written.

    A CSV row or a Markdown line carries no hash of its own: the file must be, byte for
    byte, what the verified ledger renders for those events now (an edited cell with a
    re-sealed manifest passed when only the hash column was compared). Returns (the
    line where they differ, or nothing; the events rendered when they do not).
    Streamed: the file and the rendering were each read whole into memory (2.8 GB for
    a Markdown export of a million events); now a chunk at a time, stopping at the
    first difference.
    """
    from store.export import Snapshot

    first: int | None = None
    if split is not None:  # in several processes; where it differs, in one to say where
        from store.audit_ranges import rendered_in_ranges

        where = Snapshot.filter_of(manifest, include_planted="planted" not in manifest.filter)
        rendered = rendered_in_ranges(manifest, file, where, split)
        if rendered is not None:
            return [], rendered
    # Whether catch trials were left out is in the manifest only when the ledger had any.
    for include in ("planted" not in manifest.filter, "planted" in manifest.filter):
        where = Snapshot.filter_of(manifest, include_planted=include)
        with file.open(encoding="utf-8", newline="") as held:
            compared = _Compared(held)
            try:
                rendered = Snapshot(conn).write(manifest.format, cast("IO[str]", compared), where)
                compared.end()
            except _Differs as differs:
                first = differs.offset if first is None else first
                continue
        return [], rendered
    assert first is not None
    return [
        f"line {_line_at(file, first)} differs from what the ledger holds for these events "
        "(the file was edited, or the items' text changed after the export)"
    ], 0


class _Differs(Exception):
    """The file differs from the rendering from this character on."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class _Compared:
    """A text stream that compares what is written to it with a file's next characters."""

    def __init__(self, held: IO[str]) -> None:
        self.held = held
        self.offset = 0

    def write(self, text: str) -> int:
        """Compare `text` with as many characters of the file; `_Differs` if they differ."""
        theirs = self.held.read(len(text))
        if theirs != text:
            same = next(
                (at for at, (a, b) in enumerate(zip(text, theirs, strict=False)) if a != b),
                min(len(text), len(theirs)),
            )
            raise _Differs(self.offset + same)
        self.offset += len(text)
        return len(text)

    def end(self) -> None:
        """The rendering is complete: `_Differs` if the file goes on."""
        if self.held.read(1):
            raise _Differs(self.offset)


def _line_at(file: Path, offset: int) -> int:
    """The line (from 1, as `str.splitlines` counts) holding the character at `offset`.

    Just past the file's end: the line after the last.
    """
    done, carry, left = 0, "", offset
    with file.open(encoding="utf-8", newline="") as stream:
        while left > 0 and (chunk := stream.read(min(left, 1 << 20))):
            left -= len(chunk)
            lines = (carry + chunk).splitlines(keepends=True)
            carry = lines.pop()  # the last may go on (or be a CR before its LF)
            done += len(lines)
    if carry and carry.splitlines()[0] != carry:  # it ended with its line break
        return done + 2
    return done + 1


def _check_event(
    line: int, read: Read, manifest: Manifest, live: _LiveLedger, previous: int | None
) -> list[str]:
    seq, hashed, own = _int(read[0]), read[1], read[2]
    if seq is None:
        return [f"line {line}: no event number"]
    problems = []
    if previous is not None and seq <= previous:
        problems.append(f"line {line}: event {seq} is out of order (after {previous})")
    elif previous is not None and not manifest.filter and seq != previous + 1:
        problems.append(f"line {line}: events {previous + 1} to {seq - 1} are missing")
    if own:
        problems.append(f"line {line}: event {seq} {own}")
    if live.hash_at(seq) != hashed:
        problems.append(f"line {line}: event {seq} is not in the live ledger as exported")
    return problems


Read = tuple[Any, Any, str]
"""A row as read back: its event number and hash as written, and what a JSONL line
says of itself ("" when it is whole and its hash matches it; CSV rows say nothing)."""

JSONL_SPLIT_FROM: Final = 64 << 20
"""A JSONL file this long or longer is read in several processes (~90,000 events)."""
JSONL_RANGE: Final = 16 << 20
"""Bytes of a JSONL file a process reads at a time (~23,000 events)."""


def _jsonl(file: Path) -> Generator[Read, None, None]:
    """Each line of a JSONL export as read back, its own hash checked.

    Parsing a line and hashing its event again is ~14 µs of Python: a long file's
    lines are read in several processes (`store.chain_split.in_order`), each a range
    of whole lines, the ranges in order. Should a process fail, this one reads on
    from the range it had.
    """
    from store.chain_split import in_order, processors

    size, workers = file.stat().st_size, processors()
    if size < JSONL_SPLIT_FROM or workers < 2:
        yield from _jsonl_lines(file, 0)
        return
    bounds = _line_bounds(file, size, JSONL_RANGE)
    calls = [(str(file), start, end) for start, end in itertools.pairwise(bounds)]
    results = in_order(_jsonl_range, calls, workers)
    done = 0
    try:
        for (_, _, end), lines in zip(calls, results, strict=False):
            yield from lines
            done = end
    except UnicodeDecodeError:
        raise  # as one process would
    except Exception:  # whatever stopped them, this process reads on from there
        results.close()  # first, so the processes stop taking cores from it
        yield from _jsonl_lines(file, done)
    finally:
        results.close()


def _jsonl_range(path: str, start: int, end: int) -> list[Read]:
    """The lines of a range of a JSONL export (in a process of `_jsonl`)."""
    return list(_jsonl_lines(Path(path), start, end))


def _jsonl_lines(file: Path, start: int, end: int | None = None) -> Iterator[Read]:
    """The lines from byte `start` (a line's first) to `end` (one's first; None: the end)."""
    with file.open("rb") as raw:
        raw.seek(start)
        # Universal newlines, as a text file iterates; a range ends after a "\n".
        held = raw if end is None else io.BytesIO(raw.read(end - start))
        for line in io.TextIOWrapper(held, encoding="utf-8"):
            try:
                value = json.loads(line)
            except ValueError:
                yield None, None, ""
                continue
            if not isinstance(value, dict):
                yield None, None, ""
            elif any(name not in value for name in HASHED_FIELDS):
                yield value.get("seq"), value.get("hash"), "is incomplete"
            elif event_hash(value) != value.get("hash"):
                yield value.get("seq"), value.get("hash"), "was edited (its hash does not match it)"
            else:
                yield value.get("seq"), value.get("hash"), ""


def _line_bounds(file: Path, size: int, step: int) -> list[int]:
    """0, the first byte of a line near each `step` bytes on, and `size`."""
    bounds = [0]
    with file.open("rb") as raw:
        for near in range(step, size, step):
            raw.seek(near - 1)
            rest = raw.read(1 << 16)
            while b"\n" not in rest and len(rest) == 1 << 16:
                more = raw.read(1 << 16)
                rest += more
                if not more:
                    break
            cut = rest.find(b"\n")
            at = near + cut if cut >= 0 else size
            if bounds[-1] < at < size:
                bounds.append(at)
    return [*bounds, size]


def _csv(file: Path) -> Generator[tuple[int, Read], None, None]:
    """(line number, the row as read back) of each row of a CSV export.

    All a row is checked by before the file is rendered again: a dict of every column
    per row (`csv.DictReader`) was ~4 s of a million-event check.
    """
    with file.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, [])
        at = [header.index(name) if name in header else None for name in ("seq", "hash")]
        for row in reader:
            if not row:
                continue  # as `csv.DictReader`: a blank line is no row
            seq, hashed = (row[i] if i is not None and i < len(row) else None for i in at)
            yield reader.line_num, (seq, hashed, "")


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class _LiveLedger:
    """Live hashes by seq, read a window at a time while the seqs asked for ascend.

    One indexed query per event took ~5 s of a million-event check; a window of
    `WINDOW` hashes is one query, whichever engine. A seq below the window (a file out
    of order) is looked up on its own.
    """

    WINDOW = 4096

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._window: dict[int, str] = {}
        self._from = self._to = 0  # the window covers seqs from..to (to: exclusive)

    def hash_at(self, seq: int) -> str | None:
        """The hash of event `seq` in the ledger or among the archived; None if neither."""
        if seq >= self._to:
            self._read_from(seq)
        if seq >= self._from:
            return self._window.get(seq)
        return hash_at(self.conn, seq)

    def _read_from(self, seq: int) -> None:
        # Each side limited on its own: over the bare UNION, PostgreSQL sorted every
        # event from `seq` on for each window (164 ms a window at a million, 40 s in
        # all); so each reads its index from `seq` for `WINDOW` rows (6 ms).
        rows = self.conn.execute(
            "SELECT seq, hash FROM (SELECT seq, hash FROM ledger WHERE seq >= ? "
            "ORDER BY seq LIMIT ?) AS l UNION ALL SELECT seq, hash FROM (SELECT seq, hash "
            "FROM archived WHERE seq >= ? ORDER BY seq LIMIT ?) AS a ORDER BY 1 LIMIT ?",
            (seq, self.WINDOW, seq, self.WINDOW, self.WINDOW),
        ).fetchall()
        self._window = {int(at): str(value) for at, value in rows}
        self._from = seq
        # A short window reached the end: nothing lies past it either.
        self._to = int(rows[-1][0]) + 1 if len(rows) == self.WINDOW else 2**62


__all__ = ["HASHED_FIELDS", "AuditReport", "verify_export"]


SQLITE_TRIGGERS = (
    "ledger_no_update", "ledger_no_delete", "ledger_chain", "outbox_no_planted",
    "item_counts_update", "item_counts_delete", "register_no_update", "register_no_delete",
    "register_chain", "archive_cuts_no_update", "archive_cuts_no_delete", "archive_cut_in_chain",
    "archived_no_update", "archived_no_delete", "archived_is_the_ledgers", "practice_no_update",
    "practice_no_delete",
)  # fmt: skip
"""The triggers a SQLite signoff database must have (after m011)."""
PG_TRIGGERS = (
    ("ledger", "ledger_link"), ("ledger", "ledger_append_only"), ("ledger", "ledger_no_truncate"),
    ("chain_head", "chain_head_kept"), ("outbox", "outbox_no_planted"),
    ("items", "item_counts_moved"), ("register", "register_link"),
    ("register", "register_append_only"), ("register", "register_no_truncate"),
    ("archive_cuts", "archive_cut_in_chain"), ("archive_cuts", "archive_cuts_append_only"),
    ("archived", "archived_is_the_ledgers"), ("archived", "archived_append_only"),
    ("practice", "practice_append_only"),
)  # fmt: skip
"""(table, trigger) pairs a PostgreSQL signoff database must have, enabled."""
TEAM_POLICIES = (
    ("ledger", "ledger_insert_as_self"), ("ledger", "ledger_read_own_or_final"),
    ("ledger", "ledger_read_all"), ("register", "register_as_self"),
)  # fmt: skip


def integrity_problems(conn: Connection) -> list[str]:
    """What the hash chain cannot see: guards switched off, drafts rewritten after a decision.

    The chain proves the ledger's own rows; it says nothing about a dropped append-only
    trigger (the next edit would go through) or an item's draft rewritten after it was
    decided (exports print the draft from `items`). Each problem is one sentence.
    """
    from store.dialect import dialect_of

    problems = _pg_guards(conn) if dialect_of(conn).name == "postgresql" else _sqlite_guards(conn)
    return problems + _rewritten_drafts(conn)


def _sqlite_guards(conn: Connection) -> list[str]:
    present = {
        str(name)
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    return [
        f"the trigger {name} is missing: the rule it enforces no longer holds"
        for name in SQLITE_TRIGGERS
        if name not in present
    ]


def _pg_guards(conn: Connection) -> list[str]:
    found = {
        (str(table), str(name)): str(enabled)
        for table, name, enabled in conn.execute(
            "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger AS t "
            "JOIN pg_class AS c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
        )
    }
    problems = []
    for table, name in PG_TRIGGERS:
        state = found.get((table, name))
        if state is None:
            problems.append(f"the trigger {name} on {table} is missing")
        elif state == "D":
            problems.append(f"the trigger {name} on {table} is disabled")
    team = conn.execute("SELECT 1 FROM signoff_meta WHERE key = 'team'").fetchone()
    if team is None:
        return problems
    policies = {
        (str(table), str(name)) for table, name in conn.execute(
            "SELECT tablename, policyname FROM pg_policies"
        )
    }  # fmt: skip
    problems += [f"the row-level policy {name} on {table} is missing"
                 for table, name in TEAM_POLICIES if (table, name) not in policies]  # fmt: skip
    for table in ("ledger", "register"):
        secured = conn.execute(
            "SELECT relrowsecurity FROM pg_class WHERE oid = ?::regclass", (table,)
        ).fetchone()
        if not secured or not secured[0]:
            problems.append(f"row-level security is off on the {table}")
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            row = conn.execute(
                "SELECT has_table_privilege('signoff_reviewer', ?, ?)", (table, privilege)
            ).fetchone()
            if row and row[0]:
                problems.append(f"reviewers may {privilege} the {table}")
    return problems


def _rewritten_drafts(conn: Connection) -> list[str]:
    from store.codec import sha256_text

    problems = []
    for external_id, source, draft, recorded, seq in conn.execute(
        "SELECT i.external_id, i.source, i.draft, e.draft_sha256, e.seq FROM items AS i "
        "JOIN ledger AS e ON e.seq = (SELECT max(seq) FROM ledger WHERE item_id = i.id) "
        "WHERE i.state = 'decided' OR i.state = 'escalated'"
    ):
        if sha256_text(draft) != recorded:
            problems.append(
                f"the draft of {source}/{external_id} is not the one event {seq} decided "
                "on: it was rewritten after the decision"
            )
            if len(problems) >= 20:
                problems.append("… stopping after 20 rewritten drafts")
                break
    return problems
