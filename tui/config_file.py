"""The config file's typed models: validation, one-line errors, and the JSON Schema.

Loaded only when a config file is read (or its schema printed): pydantic models cost
start-up time that a command without a config file need not pay.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError

from providers.base import Stakes
from providers.typed import Strict, first_problem
from store.arguments import REASON_CODE
from store.oversight import BANDS, STAKES, Band, FrictionPolicy, OversightPolicy, Rule
from store.policy import DEFAULT_BOILERPLATE, FLOOR_CHARS, JustificationPolicy, normalise
from tui.autocheckpoint import CheckpointPlan
from tui.config import ConfigError, Settings
from tui.paths import data_dir

ReasonCode = Annotated[str, StringConstraints(pattern=REASON_CODE)]


class PolicyTable(Strict):
    """`[policy]`: what every justification must have."""

    min_chars: Annotated[int, Field(ge=FLOOR_CHARS)] = JustificationPolicy().min_chars
    """Letters or digits a justification needs at least."""
    min_words: Annotated[int, Field(ge=1)] = JustificationPolicy().min_words
    """Words a justification needs at least."""
    recent_window: Annotated[int, Field(ge=0)] = JustificationPolicy().recent_window
    """How many of the reviewer's last justifications a new one may not repeat."""
    extra_boilerplate: list[str] = Field(default_factory=list)
    """Stock phrases refused as a whole justification, beside the built-in ones."""


class FrictionTable(Strict):
    """`[oversight.friction]`: rubber-stamp signals and the friction they raise."""

    enabled: bool = True
    """Whether the signals are computed at all."""
    items: Annotated[int, Field(ge=1, le=100)] = FrictionPolicy().items
    """Items opened commit-first after a signal."""
    min_chars: Annotated[int, Field(ge=FLOOR_CHARS, le=2000)] = FrictionPolicy().min_chars
    """Justification minimum while friction is raised."""
    words_per_minute: Annotated[int, Field(ge=60, le=2000)] = FrictionPolicy().words_per_minute
    """Reading speed behind the "fast" signal."""
    streak: Annotated[int, Field(ge=2, le=1000)] = FrictionPolicy().streak
    """Approvals without an objection after which the streak signal fires (and again)."""
    similarity: Annotated[float, Field(ge=0.5, le=1.0)] = FrictionPolicy().similarity
    """How alike two justifications are before "repeats" fires."""


class RuleTable(Strict):
    """One `[[oversight.rules]]` row: stakes and confidence band → what deciding takes."""

    stakes: Literal["*"] | Stakes | list[Stakes] = "*"
    """Stakes it applies to: "*", one, or a list."""
    confidence: Literal["*"] | Band | list[Band] = "*"
    """Confidence bands it applies to: "*", one, or a list."""
    min_chars: Annotated[int, Field(ge=FLOOR_CHARS)] | None = None
    """Justification minimum for these items."""
    commit_first: bool = False
    """Open these items with the draft hidden until the reviewer's own judgement."""
    second_reviewer: bool = False
    """A different reviewer must decide independently before it is final."""


class OversightTable(Strict):
    """`[oversight]`: catch trials, commit-first, friction and the policy table."""

    catch_rate: Annotated[float, Field(ge=0.0, le=0.5)] = OversightPolicy().catch_rate
    """Share of the queue that is planted catch trials (0 turns them off)."""
    commit_first_sources: list[str] = Field(default_factory=list)
    """Sources whose items always open commit-first."""
    double_review: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    """Share of items two reviewers decide independently (for agreement figures)."""
    practice: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    """Share of opened items that come as AI-off practice (e.g. 0.03)."""
    practice_sources: dict[str, Annotated[float, Field(ge=0.0, le=0.5)]] = Field(
        default_factory=dict
    )
    """Per-source practice shares, after an item of that source."""
    friction: FrictionTable = FrictionTable()
    """Rubber-stamp signals."""
    rules: list[RuleTable] | None = None
    """The policy table; without it the built-in rows apply."""


class UseCardTable(Strict):
    """`[use_cards.SOURCE]`: what this source's AI is for, and who answers for it."""

    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    """What the AI's drafts are used for."""
    owner: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    """The accountable person or role."""
    scope: str = ""
    """What it must not be used for."""
    model: str = ""
    provider: str = ""
    data_sources: list[str] = Field(default_factory=list)
    known_limits: list[str] = Field(default_factory=list)
    review_steps: list[str] = Field(default_factory=list)
    """What human review happens before a draft counts."""


class CheckpointsTable(Strict):
    """`[checkpoints]`: sign the ledger every N events with a lead's key."""

    key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    """The private key file from `signoff keygen` (relative to this file)."""
    every: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    """Sign at every multiple of this many ledger events."""
    folder: str | None = None
    """Where the notes go (relative to this file) [default: checkpoints in the data folder]."""


class AdvocateTable(Strict):
    """`[advocate]`: a model that argues against the draft, after the reviewer's judgement."""

    provider: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    """A configured model provider ([providers.NAME]: openai, anthropic or ollama)."""
    sources: list[str] = Field(default_factory=list)
    """Sources whose items always get the advocate."""
    stakes: list[Stakes] = Field(default_factory=list)
    """Stakes levels whose items always get it."""


class RetentionTable(Strict):
    """`[retention]`: how long events stay in the database before they may be archived."""

    minimum_days: Annotated[int, Field(ge=1, le=36_500)] = 183
    """Events younger than this are never archived (six months by default: EU AI Act
    Art. 19 and 26(6))."""


class ConfigFile(Strict):
    """signoff's config file (`config.toml`)."""

    reviewer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    """Who you are, when neither --reviewer nor $SIGNOFF_REVIEWER says (SQLite only)."""
    leads: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        default_factory=list
    )
    """Reviewers who resolve escalations (SQLite queues; on a team database, `--lead`)."""
    db: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    """The database: a file (relative to this file) or postgresql://… (team mode)."""
    keymap: str = "default"
    """default, vim or emacs."""
    lease_minutes: Annotated[float, Field(ge=1, le=24 * 60)] = 10
    """How long a claim lasts without activity."""
    reason_codes: Annotated[list[ReasonCode], Field(min_length=1)] | None = None
    """Reason codes offered for override and reject."""
    policy: PolicyTable = PolicyTable()
    """Justification rules."""
    keys: dict[str, Any] = Field(default_factory=dict)
    """Key overrides by binding id, e.g. "item.approve" = "y"."""
    guidelines: dict[str, str] = Field(default_factory=dict)
    """Source → Markdown file shown beside its items (relative to this file)."""
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """[providers.NAME] tables; each provider type checks its own keys (see the schema)."""
    use_cards: dict[str, UseCardTable] = Field(default_factory=dict)
    """[use_cards.SOURCE]: the AI use card of each source."""
    oversight: OversightTable = OversightTable()
    """Oversight against automation bias."""
    checkpoints: CheckpointsTable | None = None
    """[checkpoints]: signed checkpoints every N events (a lead's key)."""
    advocate: AdvocateTable | None = None
    """[advocate]: a devil's advocate for chosen sources or stakes."""
    retention: RetentionTable = RetentionTable()
    """[retention]: the minimum age of anything archived."""


def _database(config: Path, db: str | None) -> str | None:
    if db is None or db.lower().startswith(("postgresql://", "postgres://")):
        return db
    return str((config.parent / Path(db).expanduser()).resolve())


def settings_from(path: Path, data: dict[str, Any]) -> Settings:
    """Check a parsed config file and turn it into `Settings` (one line per mistake)."""
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path}: {first_problem(error, _where, ConfigFile)}") from None
    if config.advocate is not None and config.advocate.provider not in config.providers:
        raise ConfigError(
            f"{path}: [advocate] provider {config.advocate.provider!r} is not a "
            "[providers.NAME] table"
        )
    policy = config.policy
    phrases = DEFAULT_BOILERPLATE | {
        normalise(p) for p in policy.extra_boilerplate if normalise(p)
    }  # fmt: skip
    return Settings(
        path=path,
        reviewer=config.reviewer,
        db=_database(path, config.db),
        leads=frozenset(config.leads),
        keymap=config.keymap,
        lease=dt.timedelta(minutes=config.lease_minutes),
        policy=JustificationPolicy(
            boilerplate=frozenset(phrases),
            min_chars=policy.min_chars,
            min_words=policy.min_words,
            recent_window=policy.recent_window,
        ),
        keys=dict(config.keys),
        reason_codes=list(config.reason_codes) if config.reason_codes else None,
        providers={name: dict(table) for name, table in config.providers.items()},
        use_cards={source: card.model_dump() for source, card in config.use_cards.items()},
        guidelines={
            source: (path.parent / file).expanduser() for source, file in config.guidelines.items()
        },
        oversight=_with_advocate(_oversight(config.oversight), config.advocate),
        advocate_provider=config.advocate.provider if config.advocate else None,
        checkpoints=_checkpoints(path, config.checkpoints),
        retention_days=config.retention.minimum_days,
    )


def _checkpoints(config: Path, table: CheckpointsTable | None) -> CheckpointPlan | None:
    if table is None:
        return None
    folder = (
        config.parent / Path(table.folder).expanduser() if table.folder
        else data_dir() / "checkpoints"
    )  # fmt: skip
    return CheckpointPlan(
        key=config.parent / Path(table.key).expanduser(), every=table.every, folder=folder
    )


def _with_advocate(policy: OversightPolicy, table: AdvocateTable | None) -> OversightPolicy:
    if table is None:
        return policy
    return dataclasses.replace(
        policy, advocate_sources=frozenset(table.sources), advocate_stakes=frozenset(table.stakes)
    )


def _oversight(table: OversightTable) -> OversightPolicy:
    friction = table.friction
    rules = OversightPolicy().rules
    if table.rules is not None:
        rules = tuple(
            Rule(
                stakes=_picked(rule.stakes, STAKES),
                bands=_picked(rule.confidence, BANDS),
                min_chars=rule.min_chars,
                commit_first=rule.commit_first,
                second_reviewer=rule.second_reviewer,
            )
            for rule in table.rules
        )
    return OversightPolicy(
        rules=rules,
        catch_rate=float(table.catch_rate),
        double_review=float(table.double_review),
        practice=float(table.practice),
        practice_sources={k: float(v) for k, v in table.practice_sources.items()},
        commit_first_sources=frozenset(table.commit_first_sources),
        friction=FrictionPolicy(
            enabled=friction.enabled,
            items=friction.items,
            min_chars=friction.min_chars,
            words_per_minute=friction.words_per_minute,
            streak=friction.streak,
            similarity=float(friction.similarity),
        ),
    )


def _picked(value: str | Sequence[str], every: tuple[str, ...]) -> frozenset[str]:
    if value == "*":
        return frozenset(every)
    return frozenset([value] if isinstance(value, str) else value)


def _where(path: Sequence[str | int], table: bool) -> str:
    """`[policy]`, `lease_minutes`, `[oversight.friction] streak`, `[[oversight.rules]] #2`."""
    if len(path) >= 3 and path[:2] == ["oversight", "rules"] and isinstance(path[2], int):
        head = f"[[oversight.rules]] #{path[2] + 1}"
        keys = [str(p) for p in path[3:] if isinstance(p, str)]
        return head + (f" {keys[0]}" if keys and not table else "")
    names = [str(p) for p in path if isinstance(p, str)]
    if table:
        return f"[{'.'.join(names)}]" if names else "top level"
    if len(names) <= 1:
        return names[0] if names else "top level"
    return f"[{'.'.join(names[:-1])}] {names[-1]}"


def schema() -> dict[str, Any]:
    """JSON Schema of the config file, each provider type's own keys included."""
    from providers import registry

    document = ConfigFile.model_json_schema()
    per_type = []
    for name in registry.available():
        try:
            options = registry.load(name).Options
        except LookupError:
            continue
        part = options.model_json_schema()
        part.setdefault("properties", {})["type"] = {"const": name}
        part["required"] = ["type", *part.get("required", [])]
        part["additionalProperties"] = False
        per_type.append(part)
    document["properties"]["providers"]["additionalProperties"] = {"anyOf": per_type}
    return document
