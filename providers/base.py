"""The shapes every source of drafts produces: `Draft` and `DataLimit`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from providers.tokens import TokenProbs
from providers.tokens import problem as token_problem

ConfidenceBasis = Literal["logprobs", "self-report", "provider", "none"]
"""Where a confidence number comes from; `none` means the confidence is unknown."""

Severity = Literal["info", "warn", "high"]
"""How much a data limit should worry the reviewer."""

Stakes = Literal["low", "medium", "high"]
"""What a wrong decision on the item would cost."""

CONFIDENCE_BASES: Final = ("logprobs", "self-report", "provider", "none")
SEVERITIES: Final = ("info", "warn", "high")
STAKES: Final = ("low", "medium", "high")

SEVERITY_RANK: Final[dict[str, int]] = {"info": 1, "warn": 2, "high": 3}
"""Severity as a number for sorting; 0 stands for "no limits reported"."""

STAKES_RANK: Final[dict[str, int]] = {"low": 1, "medium": 2, "high": 3}
"""Stakes as a number, so the queue index can order highest stakes first."""


@dataclass(frozen=True, slots=True)
class DataLimit:
    """One known weakness of the data a draft rests on (stale record, truncated input, …)."""

    kind: str
    """A short tag such as `stale`, `truncated` or `missing-field`."""
    detail: str
    """What the reviewer should know, in words."""
    severity: Severity = "warn"
    """`info`, `warn` or `high`."""

    def as_json(self) -> dict[str, str]:
        """The limit as a JSON-ready mapping, keys in a fixed order."""
        return {"kind": self.kind, "detail": self.detail, "severity": self.severity}


@dataclass(frozen=True, slots=True)
class Draft:
    """An AI draft waiting for review, as a provider hands it to the store.

    `confidence` is None when unknown (never 0), and then `confidence_basis` is `none`.
    """

    source: str
    """Where the draft comes from; `(source, external_id)` is unique in the queue."""
    external_id: str
    """The source's own id for the record, e.g. a ticket number."""
    draft: str
    """The AI's output that the reviewer must check."""
    kind: str = "draft"
    """`reply`, `summary`, `score`, `label` or any other single word."""
    title: str = ""
    """A one-line label for lists."""
    input: str = ""
    """What the AI saw when it wrote the draft."""
    confidence: float | None = None
    """A number in [0, 1], or None for unknown."""
    confidence_basis: ConfidenceBasis = "none"
    """Where `confidence` comes from."""
    data_limits: tuple[DataLimit, ...] = ()
    """Known weaknesses of the data behind the draft."""
    model: str = ""
    """The model that wrote the draft, if known."""
    stakes: Stakes = "medium"
    """What a wrong decision would cost."""
    created_at: dt.datetime | None = None
    """When the source made the draft (aware, UTC); None means "when imported"."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Anything else the source wants kept with the item (JSON-compatible)."""
    tokens: TokenProbs = ()
    """The model's per-token log-probabilities over `draft` (`providers.tokens`); empty
    when the source gave none."""

    def __post_init__(self) -> None:
        # The same limits as the schema's CHECKs, so an adapter that builds a Draft
        # by hand gets a clear error here instead of a failed batch in the store.
        problem = _draft_problem(self)
        if problem:
            raise ValueError(
                f"draft {self.external_id[:60]!r} from {self.source[:40]!r}: {problem}"
            )


def _draft_problem(d: Draft) -> str | None:
    if not 1 <= len(d.source) <= 100:
        return "source must be 1 to 100 characters"
    if not 1 <= len(d.external_id) <= 200:
        return "id must be 1 to 200 characters"
    if not d.draft:
        return "draft is empty"
    if not 1 <= len(d.kind) <= 32:
        return "kind must be 1 to 32 characters"
    if d.stakes not in STAKES:
        return f"stakes {d.stakes!r} is not one of {', '.join(STAKES)}"
    if d.tokens and (trouble := token_problem(d.draft, d.tokens)):
        return trouble
    if d.confidence_basis not in CONFIDENCE_BASES:
        return f"confidence_basis {d.confidence_basis!r} is not one of {CONFIDENCE_BASES}"
    if d.confidence is None:
        return None if d.confidence_basis == "none" else "a confidence basis needs a confidence"
    if not 0.0 <= d.confidence <= 1.0:  # also false for NaN
        return f"confidence {d.confidence!r} is not in [0, 1]"
    if d.confidence_basis == "none":
        return "confidence_basis 'none' means unknown, but a confidence is given"
    return None


DraftFields = tuple[
    str, str, str, str, str, str, float | None, ConfidenceBasis, tuple[DataLimit, ...], str,
    Stakes, dt.datetime | None, dict[str, Any], TokenProbs,
]  # fmt: skip
"""A draft's fields in `Draft`'s order, as `Draft(*fields)` takes them: what a reader
makes of a checked record when it needs its row, not a `Draft` (`store.ingest`)."""


def fields_of(draft: Draft) -> DraftFields:
    """`draft`'s fields, in order (`DraftFields`)."""
    d = draft
    return (
        d.source, d.external_id, d.draft, d.kind, d.title, d.input, d.confidence,
        d.confidence_basis, d.data_limits, d.model, d.stakes, d.created_at, d.meta, d.tokens,
    )  # fmt: skip
