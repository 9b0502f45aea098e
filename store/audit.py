"""Check an export against its manifest and against the live ledger.

A hash chain alone cannot reveal a truncated tail or a wholesale rebuild; a manifest
kept elsewhere can. Each check reports where it failed, in words.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from providers.text import counted
from store.export import Manifest, file_sha256
from store.ledger import HASHED_FIELDS, event_hash

if TYPE_CHECKING:
    from store.db import Connection


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The verdict on one export."""

    ok: bool
    checked: int
    """Events read back from the file."""
    problems: list[str]


def verify_export(conn: Connection, manifest: Manifest, file: Path) -> AuditReport:
    """Check an export file against its manifest and the live ledger.

    Checks the file hash, the event count, every event's own hash, its place in the
    live ledger, and the ledger head recorded at export time.
    """
    problems: list[str] = []
    if not file.exists():
        return AuditReport(False, 0, [f"{file}: no such file"])
    if file_sha256(file) != manifest.sha256:
        problems.append("its SHA-256 differs from the manifest's (the file changed)")
    live = _LiveLedger(conn)
    head_seq, head_hash = manifest.ledger_events, manifest.ledger_head
    if head_seq and live.hash_at(head_seq) != head_hash:
        problems.append(
            f"the live ledger no longer has event {head_seq} with the head hash recorded at "
            "export time: it was truncated or rebuilt"
        )
    checked = 0
    if manifest.format in ("jsonl", "csv"):
        reader = _jsonl(file) if manifest.format == "jsonl" else _csv(file)
        previous: int | None = None
        for line, event in reader:
            checked += 1
            problems.extend(_check_event(line, event, manifest, live, previous))
            previous = _int(event.get("seq"))
            if len(problems) > 20:
                problems.append("… stopping after 20 problems")
                break
    else:
        checked = manifest.events  # Markdown is for people: the file hash is its seal
    if manifest.format != "md" and checked != manifest.events and len(problems) <= 20:
        problems.append(
            f"it holds {counted(checked, 'event')}; the manifest says {manifest.events:,}"
        )
    return AuditReport(not problems, checked, problems)


def _check_event(
    line: int, event: dict[str, Any], manifest: Manifest, live: _LiveLedger, previous: int | None
) -> list[str]:
    seq = _int(event.get("seq"))
    if seq is None:
        return [f"line {line}: no event number"]
    problems = []
    if previous is not None and seq <= previous:
        problems.append(f"line {line}: event {seq} is out of order (after {previous})")
    elif previous is not None and not manifest.filter and seq != previous + 1:
        problems.append(f"line {line}: events {previous + 1} to {seq - 1} are missing")
    if manifest.format == "jsonl" and any(name not in event for name in HASHED_FIELDS):
        problems.append(f"line {line}: event {seq} is incomplete")
    elif manifest.format == "jsonl" and event_hash(event) != event.get("hash"):
        problems.append(f"line {line}: event {seq} was edited (its hash does not match it)")
    if live.hash_at(seq) != event.get("hash"):
        problems.append(f"line {line}: event {seq} is not in the live ledger as exported")
    return problems


def _jsonl(file: Path) -> Any:
    with file.open(encoding="utf-8") as stream:
        for number, text in enumerate(stream, 1):
            try:
                value = json.loads(text)
            except ValueError:
                yield number, {"seq": None}
                continue
            yield number, value if isinstance(value, dict) else {"seq": None}


def _csv(file: Path) -> Any:
    with file.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        for row in reader:
            yield reader.line_num, row


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class _LiveLedger:
    """Look up live hashes by seq (one indexed query each)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def hash_at(self, seq: int) -> str | None:
        row = self.conn.execute("SELECT hash FROM ledger WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else str(row[0])


__all__ = ["HASHED_FIELDS", "AuditReport", "verify_export"]
