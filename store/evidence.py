"""The evidence report: ledger facts mapped to the requirements they evidence.

For an auditor or regulator: each row names a requirement (EU AI Act, NIST AI RMF,
ISO/IEC 42001 Annex A), the figures from this ledger that bear on it, and — as plainly —
what signoff cannot evidence. Every figure is read here, from the store, at the moment
the report is made; nothing is typed in by hand. Rendering is `store.evidence_render`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from providers.text import counted
from store.chain_split import processors
from store.clock import parse_iso

if TYPE_CHECKING:
    from store import Store
    from store.archive import Cut
    from store.models import ChainReport
    from store.register import Incident
    from store.stats import Stats

SIX_MONTHS_DAYS: Final = 183
"""EU AI Act Art. 19(1) and 26(6): logs kept "for a period … of at least six months"."""


@dataclass(frozen=True, slots=True)
class CheckpointSeen:
    """A signed checkpoint the ledger was checked against while making the report."""

    size: int
    signer: str
    """The verifier key's name, or "this machine" for a remembered checkpoint."""
    extends: bool
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One row of the map: what is asked, what the ledger shows, what it cannot show."""

    framework: str
    clause: str
    asks: str
    evidence: list[str]
    cannot: str


@dataclass
class Evidence:
    """Everything the report prints, gathered in one pass over the store."""

    where: str
    team: bool
    """A shared PostgreSQL database (privileges and row security guard it too)."""
    made_at: dt.datetime
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    chain: ChainReport
    register: ChainReport
    problems: list[str]
    stats: Stats
    incidents: list[Incident]
    escalations: int
    escalations_open: int
    decisions: int
    with_confidence: int
    with_limits: int
    with_card: int
    cards: dict[str, str]
    min_chars: int
    checkpoint: CheckpointSeen | None
    cuts: list[Cut] = field(default_factory=list)
    """Archive cuts, oldest first."""
    retention_days: int = SIX_MONTHS_DAYS
    requirements: list[Requirement] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The chain, the register and every guard check out."""
        return self.chain.ok and self.register.ok and not self.problems

    @property
    def days_kept(self) -> int:
        """Days from the first event to the report."""
        return 0 if self.first_at is None else (self.made_at - self.first_at).days

    def incident_count(self, *, kind: str | None = None, status: str | None = None) -> int:
        """Incidents (or complaints) of a kind and status."""
        return sum(
            1 for i in self.incidents
            if kind in (None, i.report.kind) and status in (None, i.status)
        )  # fmt: skip


def gather(
    store: Store,
    *,
    now: dt.datetime,
    checkpoint: CheckpointSeen | None,
    retention_days: int = SIX_MONTHS_DAYS,
) -> Evidence:
    """Read every figure of the report from `store` (verifying the chain on the way)."""
    from store.archive import cuts
    from store.audit import integrity_problems

    conn = store.conn
    first, last = conn.execute("SELECT min(recorded_at), max(recorded_at) FROM ledger").fetchone()
    decisions, confidence, limits, carded, escalated = conn.execute(
        "SELECT count(*), count(shown_confidence), "
        "coalesce(sum(CASE WHEN shown_limits = '[]' THEN 0 ELSE 1 END), 0), "
        "coalesce(sum(CASE WHEN oversight LIKE '%\"use_card\":%' THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN action = 'escalate' THEN 1 ELSE 0 END), 0) "
        "FROM ledger WHERE action != 'retract'"
    ).fetchone()
    evidence = Evidence(
        where=store.where,
        team=store.team,
        made_at=now,
        first_at=parse_iso(first) if first else None,
        last_at=parse_iso(last) if last else None,
        chain=store.verify_chain(workers=processors()),
        register=store.verify_register(),
        # The guards and drafts; the register's chain is `register` (verified once).
        problems=integrity_problems(conn),
        stats=store.stats(),
        incidents=store.incidents(),
        escalations=int(escalated),
        escalations_open=len(store.escalations()),
        decisions=int(decisions),
        with_confidence=int(confidence),
        with_limits=int(limits),
        with_card=int(carded),
        cards=dict(store.use_cards),
        min_chars=store.policy.min_chars,
        checkpoint=checkpoint,
        cuts=cuts(conn),
        retention_days=retention_days,
    )
    evidence.requirements = requirements(evidence)
    return evidence


def retention_lines(e: Evidence) -> list[str]:
    """What the ledger shows about how long it keeps events, and what left it."""
    covered = (
        "six months are covered" if e.days_kept >= SIX_MONTHS_DAYS
        else f"under six months ({SIX_MONTHS_DAYS} days) so far"
    )  # fmt: skip
    lines = [
        f"the database holds events back {e.days_kept:,} days"
        + (f" (to {e.first_at:%Y-%m-%d})" if e.first_at else "") + f": {covered}",
        f"nothing is archived younger than {e.retention_days} days (the configured minimum); "
        "nothing else is ever deleted: the ledger and register are append-only (triggers"
        + ("; in team mode also privileges and row-level security" if e.team else "")
        + ")",
    ]  # fmt: skip
    for cut in e.cuts:
        lines.append(
            f"events through {cut.through_seq:,} archived {cut.archived_at[:10]} by "
            f"{cut.archived_by} to {cut.file_name} (SHA-256 {cut.file_sha256[:16]}…); their "
            "hashes stay, so the chain still links across the cut"
        )
    lines.append("the chain verifies from event 1, so no event before the head is missing")
    return lines


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,}" + (f" ({part / whole:.0%})" if whole else "")


def requirements(e: Evidence) -> list[Requirement]:
    """The map, row by row, with this ledger's figures in each."""
    s = e.stats.overall
    standing = s.decisions
    overridden = sum(s.actions.get(a, 0) for a in ("edit", "override", "reject"))
    chain = (
        f"hash chain of {counted(e.chain.events, 'event')} verified from the first event "
        f"(head {e.chain.head[:16]}…)"
        if e.chain.ok else f"hash chain BROKEN at event {e.chain.first_bad_seq}: {e.chain.problem}"
    )  # fmt: skip
    guards = (
        "append-only guards present and enabled" if not e.problems
        else f"{counted(len(e.problems), 'integrity check')} FAILED (listed below)"
    )  # fmt: skip
    if e.checkpoint is None:
        outside = "no signed checkpoint was checked: the chain alone cannot show a rebuilt ledger"
    elif e.checkpoint.extends:
        outside = (f"extends a signed checkpoint of {e.checkpoint.size:,} events "
                   f"({e.checkpoint.signer})")  # fmt: skip
    else:
        outside = (f"does NOT extend the signed checkpoint of {e.checkpoint.size:,} events "
                   f"({e.checkpoint.signer}): {e.checkpoint.problem}")  # fmt: skip
    catch = "no catch trials decided"
    if s.planted_seen:
        low, high = s.catch_interval or (0.0, 0.0)
        rate = s.planted_caught / s.planted_seen
        catch = (f"{s.planted_caught} of {s.planted_seen} planted wrong drafts caught "
                 f"({rate:.0%}, 95% interval {low:.0%}-{high:.0%})")  # fmt: skip
    since = "" if e.first_at is None else f"since {e.first_at:%Y-%m-%d}"
    complaints = e.incident_count(kind="complaint")
    return [
        Requirement(
            "EU AI Act",
            "Art. 12 (record-keeping)",
            "automatic recording of events over the system's lifetime, for traceability",
            [
                f"{counted(e.chain.events, 'ledger event')} {since}: who decided, when, on which "
                "draft (its SHA-256), the confidence and data limits shown, time on item",
                chain,
                guards,
                outside,
                f"incident register: {counted(e.register.events, 'entry', 'entries')}, "
                + ("chain verified" if e.register.ok else f"BROKEN: {e.register.problem}"),
            ],
            "the AI system's own logs (prompts, model versions, inputs before import): "
            "signoff records the review of what it received, not the model's run",
        ),
        Requirement(
            "EU AI Act",
            "Art. 14 (human oversight)",
            "people who understand the output's limits, stay aware of automation bias, "
            "and can disregard, override or reverse it",
            [
                f"{counted(standing, 'decision')} standing, each with a typed justification "
                f"(at least {e.min_chars} letters, refused otherwise)",
                f"changed or refused: {_share(overridden, standing)} "
                f"(edit {s.actions.get('edit', 0)}, override {s.actions.get('override', 0)}, "
                f"reject {s.actions.get('reject', 0)}); escalated: {e.escalations:,}",
                f"confidence shown with its basis on {_share(e.with_confidence, e.decisions)} "
                f"decisions; data limits shown on {_share(e.with_limits, e.decisions)}",
                f"automation bias: {catch}; {s.commit_first:,} commit-first decisions "
                f"({s.moved_toward_ai:,} moved toward the AI); friction raised "
                f"{s.friction_raised:,} times; {s.second_reviews:,} second reviews "
                f"({s.disagreements:,} disagreed)",
            ],
            "whether reviewers are competent, trained and have the authority (Art. 26(2)); "
            "whether they understood what they read: signoff shows effort and catches, "
            "not understanding",
        ),
        Requirement(
            "EU AI Act",
            "Art. 19(1), 26(6) (logs kept at least six months)",
            "providers and deployers keep the automatically generated logs for at least six months",
            retention_lines(e),
            "that copies of the database and of its archive files are kept for the period "
            "(signoff cannot see your backups or where archive files went)",
        ),
        Requirement(
            "NIST AI RMF",
            "MAP 3.5",
            "processes for human oversight are defined, assessed and documented",
            [
                f"AI use cards in force for {counted(len(e.cards), 'source')}"
                + (f" ({', '.join(sorted(e.cards))})" if e.cards else "")
                + f"; stamped (hash) into {_share(e.with_card, e.decisions)} decisions",
                f"the oversight applied is recorded, hashed, in each event; {catch}",
            ],
            "the organisation's own policy documents and whether they were approved",
        ),
        Requirement(
            "NIST AI RMF",
            "MANAGE 4.1",
            "post-deployment monitoring with mechanisms for input from users, appeal and "
            "override, and incident response",
            [
                f"incidents and complaints: {len(e.incidents):,} "
                f"({e.incident_count(status='open'):,} open, "
                f"{e.incident_count(status='confirmed'):,} confirmed, "
                f"{e.incident_count(status='unfounded'):,} unfounded); only a lead resolves one, "
                "with a justification",
                f"decisions later contradicted by a confirmed incident: {s.contradicted:,}",
                f"escalations: {e.escalations:,}, {e.escalations_open:,} still waiting for a "
                "lead; retractions: " + f"{s.actions.get('retract', 0):,}",
            ],
            "monitoring of the AI system itself (drift, performance outside review), "
            "decommissioning and change management",
        ),
        Requirement(
            "NIST AI RMF",
            "MEASURE 3.3",
            "feedback processes for end users to report problems and appeal outcomes, "
            "integrated into evaluation metrics",
            [
                f"complaints recorded: {complaints:,} "
                f"({e.incident_count(kind='complaint', status='confirmed'):,} confirmed)",
                "confirmed incidents are counted against the decisions they name, by "
                "confidence band and by reviewer, in signoff's statistics",
            ],
            "how complaints reach the team (signoff records them; it runs no public channel)",
        ),
        Requirement(
            "ISO/IEC 42001",
            "Annex A.6.2.8 (event logs)",
            "event logs recorded at least while the AI system is in use",
            [chain, guards, outside],
            "logging of the phases before review (training, deployment)",
        ),
        Requirement(
            "ISO/IEC 42001",
            "Annex A.3.3, A.8.3 (reporting concerns and adverse impacts)",
            "a process to report concerns, and capabilities for interested parties to "
            "report adverse impacts",
            [
                f"{counted(len(e.incidents), 'report')} in the chained register "
                f"({complaints:,} of them complaints)"
            ],
            "confidentiality or anonymity of reporters (every entry names who recorded "
            "it), and communicating incidents to users (A.8.4)",
        ),
        Requirement(
            "ISO/IEC 42001",
            "Annex A.9.2-A.9.4 (responsible and intended use)",
            "processes and objectives for responsible use; use according to intended use",
            [
                f"use cards (purpose, scope, owner) for {counted(len(e.cards), 'source')}; "
                f"human review of {counted(standing, 'decision')} with "
                "justifications",
                catch,
            ],
            "whether the AI is used only as the cards describe outside signoff",
        ),
    ]
