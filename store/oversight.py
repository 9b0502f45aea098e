"""Oversight beyond the justification: friction, commit-first, rubber-stamp signals.

Risk-proportional friction from a policy table, commit-first review, the signals that
catch rubber-stamping, and the statistics of catch trials.

Everything here is pure (no database): the ledger calls these functions inside the
decision's transaction, and the UI calls the same ones to show what an item requires.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from store.policy import normalise

Band = Literal["low", "medium", "high", "unknown"]
"""Confidence bands the policy table speaks of: <0.6, 0.6 to 0.85, >=0.85, not given."""

BANDS: Final[tuple[Band, ...]] = ("low", "medium", "high", "unknown")
STAKES: Final = ("low", "medium", "high")

HIGH_CONFIDENCE: Final = 0.85


def policy_band(confidence: float | None) -> Band:
    """The policy-table band of a confidence."""
    if confidence is None:
        return "unknown"
    if confidence < 0.6:
        return "low"
    return "medium" if confidence < HIGH_CONFIDENCE else "high"


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the policy table: which items it covers and what it asks for.

    Where several rows match an item, the strictest value of each column wins.
    """

    stakes: frozenset[str] = frozenset(STAKES)
    bands: frozenset[str] = frozenset(BANDS)
    min_chars: int | None = None
    """Letters and digits the justification needs (None: the general policy's)."""
    commit_first: bool = False
    """Reviewer records their own judgement before the draft is shown."""
    second_reviewer: bool = False
    """Approvals (and edits, overrides) are final only when a second reviewer agrees."""

    def covers(self, stakes: str, band: Band) -> bool:
        """Whether this row applies to an item of these stakes and confidence band."""
        return stakes in self.stakes and band in self.bands


@dataclass(frozen=True, slots=True)
class FrictionPolicy:
    """When rubber-stamp signals fire, and how much friction they raise."""

    enabled: bool = True
    items: int = 5
    """How many of the reviewer's next items open commit-first after a signal."""
    min_chars: int = 60
    """The justification minimum while friction is raised."""
    words_per_minute: int = 300
    """Reading speed behind the time-on-item estimate (a fast skim, not study)."""
    min_read_ms: int = 3000
    """No draft is read faster than this, however short."""
    fast_of_last: tuple[int, int] = (3, 5)
    """Fires when this many of the last decisions came faster than the estimate."""
    streak: int = 25
    """Fires at every this many approvals with no objection (edit, override, reject,
    escalate, retract) in between. A careful reviewer who objects to one draft in ten
    meets a run of 25 about 0.7 times per 100 decisions (100 · 0.1 · 0.9^25); one who
    approves everything, every 25 decisions. (8 flagged careful reviewers whose eight
    good drafts came in a row, and fired only once in any run: the count was capped.)"""
    similarity: float = 0.8
    """Fires when a justification is at least this similar to one of the last ten."""


@dataclass(frozen=True, slots=True)
class OversightPolicy:
    """All oversight settings; `OversightPolicy.off()` disables every mechanism."""

    rules: tuple[Rule, ...] = (
        Rule(stakes=frozenset({"high"}), min_chars=40),
        Rule(stakes=frozenset({"high"}), bands=frozenset({"high"}), commit_first=True),
    )
    catch_rate: float = 0.05
    """Share of the queue that is planted catch trials (0 disables planting)."""
    commit_first_sources: frozenset[str] = frozenset()
    friction: FrictionPolicy = field(default_factory=FrictionPolicy)
    double_review: float = 0.0
    """Share of items decided independently by two reviewers, whatever the first one
    decides (the two-person rule holds approvals only): the overlap that `signoff stats`
    measures agreement on. Which items is fixed by their id, not drawn at each claim."""
    practice: float = 0.0
    """Share of the items a reviewer opens that come as AI-off practice instead: a
    colleague's decided score or label, without draft or confidence (`store.practice`)."""
    practice_sources: dict[str, float] = field(default_factory=dict)
    """Per-source shares that replace `practice` for that source's reviewers' next item."""
    advocate_sources: frozenset[str] = frozenset()
    """Sources whose items get a devil's advocate: they open commit-first, and after the
    reviewer's own judgement a model argues against the draft (`tui.advocate`)."""
    advocate_stakes: frozenset[str] = frozenset()
    """Stakes levels whose items get the devil's advocate, likewise."""

    def practice_share(self, source: str | None) -> float:
        """The practice share that applies after an item of `source`."""
        return self.practice_sources.get(source or "", self.practice)

    def __post_init__(self) -> None:
        if not 0.0 <= self.catch_rate <= 0.5:
            raise ValueError("catch_rate must be between 0 and 0.5")
        if not 0.0 <= self.double_review <= 1.0:
            raise ValueError("double_review must be between 0 and 1")
        for share in (self.practice, *self.practice_sources.values()):
            if not 0.0 <= share <= 0.5:
                raise ValueError("practice shares must be between 0 and 0.5")

    @classmethod
    def off(cls) -> OversightPolicy:
        """No rules, no planting, no friction: the justification policy alone."""
        return cls(rules=(), catch_rate=0.0, friction=FrictionPolicy(enabled=False))


@dataclass(frozen=True, slots=True)
class Friction:
    """Friction raised by rubber-stamp signals, still in force."""

    signals: tuple[str, ...]
    remaining: int
    """Items still to come under friction, this one included."""


@dataclass(frozen=True, slots=True)
class Requirements:
    """What deciding one claimed item takes, and why."""

    min_chars: int
    commit_first: tuple[str, ...] = ()
    """Why the item opens commit-first (`source`, `stakes`, `policy`, `friction`); empty: not."""
    second_reviewer: bool = False
    friction: Friction | None = None
    second_review_of: int | None = None
    """Ledger seq of another reviewer's first decision, when this is the second review."""
    double_review: bool = False
    """In the double-review sample: any first decision but an escalation waits for a
    second, independent one (not only approvals)."""
    advocate: bool = False
    """A devil's advocate argues against the draft after the reviewer's judgement; the
    decision records what it said (or that it could not be reached)."""

    def describe(self) -> str:
        """One line for the item screen, e.g. `commit first (policy) · 60+ letters`."""
        parts = []
        if self.second_review_of is not None:
            parts.append("second review: decide on your own (first reasons shown after)")
        if self.commit_first:
            parts.append(f"commit first ({', '.join(self.commit_first)})")
        parts.append(f"justification {self.min_chars}+ letters")
        if self.advocate:
            parts.append("devil's advocate after your judgement")
        if self.double_review and self.second_review_of is None:
            parts.append("double review: a second reviewer decides too")
        elif self.second_reviewer and self.second_review_of is None:
            parts.append("needs a second reviewer")
        if self.friction is not None:
            parts.append(f"friction raised ({', '.join(self.friction.signals)})")
        return " · ".join(parts)


def requirements(
    policy: OversightPolicy,
    *,
    base_min_chars: int,
    source: str,
    stakes: str,
    confidence: float | None,
    friction: Friction | None,
    second_review_of: int | None,
    planted: bool,
    external_id: str = "",
) -> Requirements:
    """Combine the policy table, per-source switches and raised friction for one item.

    A planted item gets exactly what a real one of its kind would (it must look real),
    except that it never needs a second reviewer: nothing goes out.
    """
    band = policy_band(confidence)
    rows = [rule for rule in policy.rules if rule.covers(stakes, band)]
    min_chars = max([base_min_chars, *(r.min_chars for r in rows if r.min_chars)])
    why = []
    if source in policy.commit_first_sources:
        why.append("source")
    if any(r.commit_first for r in rows):
        why.append("policy")
    if friction is not None:
        why.append("friction")
        min_chars = max(min_chars, policy.friction.min_chars)
    # The advocate speaks only after the reviewer's own judgement: it must not anchor it.
    advocate = source in policy.advocate_sources or stakes in policy.advocate_stakes
    if advocate:
        why.append("advocate")
    first = second_review_of is None and not planted
    sampled = first and in_double_review(policy.double_review, source, external_id)
    second = any(r.second_reviewer for r in rows) and first
    return Requirements(
        min_chars=min_chars,
        commit_first=tuple(why),
        second_reviewer=second or sampled,
        friction=friction,
        second_review_of=second_review_of,
        double_review=sampled,
        advocate=advocate,
    )


def in_double_review(share: float, source: str, external_id: str) -> bool:
    """Whether an item is in the double-review sample: a hash of its id below `share`.

    Fixed per item (every reviewer, every claim, both engines agree), and about `share`
    of any set of items, whatever their ids look like.
    """
    if share <= 0.0:
        return False
    import hashlib  # at the first claim, not the app's start (see store.codec)

    digest = hashlib.sha256(f"{source}\x1f{external_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


@dataclass(frozen=True, slots=True)
class Past:
    """One of the reviewer's recent decisions, as the signals read it (newest first)."""

    action: str
    time_on_item_ms: int
    confidence: float | None
    justification: str
    draft_chars: int
    oversight: dict[str, Any] | None


def reading_ms(policy: FrictionPolicy, draft_chars: int) -> int:
    """How long a fast reader needs for a draft this long (about 6 characters a word)."""
    words = draft_chars / 6
    return max(policy.min_read_ms, int(words / policy.words_per_minute * 60_000))


def active_friction(policy: FrictionPolicy, history: Sequence[Past]) -> Friction | None:
    """Friction still in force: raised within the reviewer's last `items` decisions."""
    if not policy.enabled:
        return None
    for done, past in enumerate(history):
        raised = (past.oversight or {}).get("friction_raised")
        if raised:
            remaining = int(raised.get("items", policy.items)) - done
            if remaining <= 0:
                return None
            return Friction(tuple(raised.get("signals", ())), remaining)
    return None


def signals(policy: FrictionPolicy, current: Past, history: Sequence[Past]) -> dict[str, str]:
    """Rubber-stamp signals that fire with this decision, each with a plain explanation.

    `history` is the reviewer's earlier decisions, newest first (retractions left out).
    """
    if not policy.enabled:
        return {}
    fired: dict[str, str] = {}
    recent = [current, *history]
    need, window = policy.fast_of_last
    fast = [p for p in recent[:window] if p.time_on_item_ms < reading_ms(policy, p.draft_chars)]
    if len(recent) >= need and len(fast) >= need:
        fired["fast"] = (
            f"{len(fast)} of your last {min(window, len(recent))} decisions came faster than "
            "reading the draft takes"
        )
    # Approvals since the last objection (any decision but approve) or since this
    # signal last fired, whichever is nearer: it fires at every `streak` approvals for
    # as long as a run goes on (the history it needs is `streak` long, never more).
    run = 0
    for past in recent:
        if past.action != "approve":
            break
        if past is not current and "streak" in _fired(past):
            break
        run += 1
    if current.action == "approve" and run >= policy.streak:
        fired["streak"] = f"{run} approvals in a row since your last objection or reminder"
    from cydifflib import SequenceMatcher  # only when a decision computes its signals

    said = normalise(current.justification)
    for past in history[:10]:
        ratio: float = SequenceMatcher(None, said, normalise(past.justification)).ratio()
        if ratio >= policy.similarity:
            fired["repeats"] = f"your justification is {ratio:.0%} the same as an earlier one"
            break
    return fired


def _fired(past: Past) -> tuple[str, ...]:
    raised = (past.oversight or {}).get("friction_raised") or {}
    return tuple(raised.get("signals", ()))


def moved_toward_ai(kind: str, provisional: str, ai: str, final: str | None) -> bool | None:
    """Whether the final decision moved from the reviewer's own judgement toward the AI's.

    Scores: the final value is nearer the AI's than the provisional one was. Labels: the
    reviewer named another label and ended with the AI's. Text: the reviewer expected
    changes and approved the draft unchanged. None when it cannot be said.
    """
    if final is None:
        return None
    if kind == "score":
        try:
            mine, theirs, ended = float(provisional), float(ai), float(final)
        except ValueError:
            return None
        return abs(ended - theirs) < abs(mine - theirs)
    if kind == "label":
        return provisional.strip().lower() != ai.strip().lower() and final == ai
    return provisional == "expect-changes" and final == ai


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval (95 % by default) of a rate; None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
