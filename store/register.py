"""The incident and complaint register: what went wrong after a decision, chained.

Anyone on the team records an incident or a complaint against one or more decisions
(what happened, who reported it, how severe); a lead closes it with a justified
resolution — `confirmed` (the decisions it names were wrong) or `unfounded`. Entries
are append-only and hash-chained like the ledger, in a chain of their own (`register`),
so a report cannot be quietly dropped or reworded; signed checkpoints carry its head
next to the ledger's (`store.checkpoint`).

A confirmed incident *contradicts* the decisions it names: the statistics count them by
confidence band and by reviewer (`Store.contradicted`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from store.arguments import checked_text
from store.clock import iso, parse_iso
from store.codec import GENESIS_HASH, canonical_json, first_break, sha256_text
from store.errors import StoreError
from store.models import ChainReport
from store.queue import check_reviewer
from store.retract import RetractMixin

if TYPE_CHECKING:
    from store.db import Connection

Kind = Literal["incident", "complaint"]
Severity = Literal["low", "medium", "high", "critical"]
Outcome = Literal["confirmed", "unfounded"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)

REGISTER_FIELDS: Final = (
    "seq", "incident", "action", "kind", "severity", "decisions", "reported_by",
    "recorded_by", "text", "outcome", "ledger_seq", "recorded_at", "prev_hash", "hash",
)  # fmt: skip
"""Every column of a register entry; all but `hash` are hashed."""
_COLUMNS = ", ".join(REGISTER_FIELDS)
_HASH_VERSION: Final = "register-1"
MIN_WHAT: Final = 10
"""Fewest characters (trimmed) that say what happened, or why it was resolved so."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the register: a report, or the lead's resolution of one."""

    seq: int
    incident: int
    """The number of the incident it belongs to (reports are numbered 1, 2, 3…)."""
    action: Literal["report", "resolve"]
    kind: Kind | None
    severity: Severity | None
    decisions: tuple[int, ...]
    """Ledger events the report is against (empty for a resolution)."""
    reported_by: str
    """Who raised it (a customer, a colleague; defaults to whoever recorded it)."""
    recorded_by: str
    text: str
    """What happened (a report), or the lead's justification (a resolution)."""
    outcome: Outcome | None
    ledger_seq: int
    """The ledger's length when the entry was recorded."""
    recorded_at: dt.datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Incident:
    """A report and, once a lead closed it, its resolution."""

    report: Entry
    resolution: Entry | None

    @property
    def number(self) -> int:
        """The incident's number (1 for the first report, and so on)."""
        return self.report.incident

    @property
    def status(self) -> Literal["open", "confirmed", "unfounded"]:
        """`open` until a lead resolves it; then the outcome."""
        return "open" if self.resolution is None else self.resolution.outcome or "open"


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but `hash` (plus a format version)."""
    payload = {name: fields[name] for name in REGISTER_FIELDS if name != "hash"}
    payload["v"] = _HASH_VERSION
    return sha256_text(canonical_json(payload))


def register_head(conn: Connection, at_ledger: int | None = None) -> tuple[int, str]:
    """(length, newest hash) of the register; (0, genesis) when empty.

    `at_ledger`: as it stood when the ledger was that long (entries recorded then).
    """
    where = "" if at_ledger is None else f"WHERE ledger_seq <= {int(at_ledger)} "
    row = conn.execute(
        f"SELECT seq, hash FROM register {where}ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def contradicted(conn: Connection, outcome: str = "confirmed") -> set[int]:
    """Ledger events named by an incident a lead resolved so (`unfounded`: they stood)."""
    seqs: set[int] = set()
    for (decisions,) in conn.execute(
        "SELECT r.decisions FROM register AS r JOIN register AS x ON x.incident = r.incident "
        "WHERE r.action = 'report' AND x.action = 'resolve' AND x.outcome = ?",
        (outcome,),
    ):
        seqs.update(int(seq) for seq in json.loads(decisions))
    return seqs


class RegisterMixin(RetractMixin):
    """The register's operations; mixed into `store.Store`."""

    def report_incident(
        self,
        recorded_by: str,
        what: str,
        decisions: Sequence[int],
        *,
        kind: Kind = "incident",
        severity: Severity = "medium",
        reported_by: str | None = None,
    ) -> Incident:
        """Record an incident or complaint against ledger decisions.

        Raises:
            StoreError: A decision that does not exist (or is a retraction), an unknown
                kind or severity, or `what` too short to say what happened.
        """
        recorded_by = check_reviewer(recorded_by)
        reporter = recorded_by if reported_by is None else _named(reported_by, "reported by")
        text = _said(what, "what happened")
        if kind not in KINDS:
            raise StoreError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if severity not in SEVERITIES:
            raise StoreError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        named = sorted(set(decisions))
        if not named:
            raise StoreError("name the decision (ledger event) the report is about")
        with self._immediate() as conn:
            for seq in named:
                event = self._event(conn, seq)
                if event is None:
                    raise StoreError(
                        f"there is no decision {seq} in the ledger (or you cannot see it)"
                    )
                if event.action == "retract":
                    raise StoreError(
                        f"event {seq} is a retraction; name the decision it took back "
                        f"({event.retracts})"
                    )
            entry = self._add_entry(
                conn, action="report", kind=kind, severity=severity, decisions=named,
                reported_by=reporter, recorded_by=recorded_by, text=text, outcome=None,
                incident=None,
            )  # fmt: skip
        return Incident(entry, None)

    def resolve_incident(
        self, number: int, lead: str, outcome: Outcome, justification: str
    ) -> Incident:
        """A lead closes incident `number`: confirmed (the decisions were wrong) or unfounded.

        Raises:
            StoreError: Not a lead, no such incident, already resolved, unknown outcome.
            JustificationRefused: The justification broke the justification policy.
        """
        lead = check_reviewer(lead)
        text = _said(justification, "justification")
        if outcome not in OUTCOMES:
            raise StoreError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        if not self.is_lead(lead):
            raise StoreError(f"{lead} is not a lead; a lead resolves incidents")
        with self._immediate() as conn:
            found = self._incident(conn, number)
            if found is None:
                raise StoreError(f"there is no incident {number}")
            if found.resolution is not None:
                raise StoreError(
                    f"incident {number} was resolved ({found.status}) by "
                    f"{found.resolution.recorded_by}; record a new report to reopen it"
                )
            self._enforce(conn, lead, text, "", self.policy.min_chars)
            entry = self._add_entry(
                conn, action="resolve", kind=None, severity=None, decisions=[],
                reported_by=lead, recorded_by=lead, text=text, outcome=outcome,
                incident=number,
            )  # fmt: skip
        return Incident(found.report, entry)

    def incidents(self, *, status: str | None = None) -> list[Incident]:
        """Every incident, newest first; `status` keeps open, confirmed or unfounded ones."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM register ORDER BY seq").fetchall()
        entries = [_entry(row) for row in rows]
        resolutions = {e.incident: e for e in entries if e.action == "resolve"}
        found = [
            Incident(e, resolutions.get(e.incident))
            for e in reversed(entries)
            if e.action == "report"
        ]
        return [i for i in found if status is None or i.status == status]

    def incidents_against(self, seqs: Sequence[int]) -> list[Incident]:
        """Incidents naming any of the ledger events `seqs` (an item's history), newest first."""
        wanted = set(seqs)
        return [i for i in self.incidents() if wanted.intersection(i.report.decisions)]

    def incident(self, number: int) -> Incident | None:
        """Incident `number`, or None."""
        return self._incident(self.conn, number)

    def contradicted(self) -> set[int]:
        """Ledger events named by a confirmed incident (see `store.register.contradicted`)."""
        return contradicted(self.conn)

    def register_head(self, at_ledger: int | None = None) -> tuple[int, str]:
        """(length, newest hash) of the register (as it stood at ledger length `at_ledger`)."""
        return register_head(self.conn, at_ledger)

    def verify_register(self) -> ChainReport:
        """Recompute every register entry's hash and link; the first that does not match."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM register ORDER BY seq")
        count, last, problem = first_break(
            rows,
            REGISTER_FIELDS,
            lambda row: entry_hash(dict(zip(REGISTER_FIELDS, row, strict=True))),
            (0, GENESIS_HASH),
            "register entry",
        )
        if problem:
            total = self.conn.execute("SELECT count(*) FROM register").fetchone()[0]
            return ChainReport(
                False, total, self.register_head()[1], count, total - count + 1, problem
            )
        return ChainReport(True, count, last)

    def _incident(self, conn: Connection, number: int) -> Incident | None:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM register WHERE incident = ? ORDER BY seq", (number,)
        ).fetchall()
        entries = [_entry(row) for row in rows]
        if not entries or entries[0].action != "report":
            return None
        resolution = next((e for e in entries if e.action == "resolve"), None)
        return Incident(entries[0], resolution)

    def _add_entry(
        self, conn: Connection, *, incident: int | None, decisions: list[int], **values: Any
    ) -> Entry:
        # The caller's write transaction holds the register's head until this commits.
        position, prev_hash = register_head(conn)
        if incident is None:  # a new report: the next incident number
            last = conn.execute(
                "SELECT max(incident) FROM register WHERE action = 'report'"
            ).fetchone()[0]
            incident = int(last or 0) + 1
        fields = {
            **values,
            "seq": position + 1,
            "incident": incident,
            "decisions": canonical_json(decisions),
            "ledger_seq": self._ledger_length(conn),
            "recorded_at": iso(self.now()),
            "prev_hash": prev_hash,
        }
        fields["hash"] = entry_hash(fields)
        row = [fields[name] for name in REGISTER_FIELDS]
        conn.execute(f"INSERT INTO register ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
        return _entry(row)

    def _ledger_length(self, conn: Connection) -> int:
        from store.ledger import chain_head

        return chain_head(conn)[0]


def _said(text: str, name: str) -> str:
    text = checked_text(text, name)
    if len(text.strip()) < MIN_WHAT:
        raise StoreError(f"{name} needs at least {MIN_WHAT} characters")
    return text.strip()


def _named(name: str, what: str) -> str:
    name = checked_text(name, what).strip()
    if not 1 <= len(name) <= 100:
        raise StoreError(f"{what} must be 1 to 100 characters")
    return name


def _entry(row: Sequence[Any]) -> Entry:
    v = dict(zip(REGISTER_FIELDS, row, strict=True))
    return Entry(
        seq=int(v["seq"]),
        incident=int(v["incident"]),
        action=v["action"],
        kind=v["kind"],
        severity=v["severity"],
        decisions=tuple(int(s) for s in json.loads(v["decisions"])),
        reported_by=v["reported_by"],
        recorded_by=v["recorded_by"],
        text=v["text"],
        outcome=v["outcome"],
        ledger_seq=int(v["ledger_seq"]),
        recorded_at=parse_iso(v["recorded_at"]),
        prev_hash=v["prev_hash"],
        hash=v["hash"],
    )
