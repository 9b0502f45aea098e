"""Pieces generative adapters share: confidence from logprobs, refusals, drafts from jobs."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final

from providers.adapter import Job
from providers.base import STAKES, ConfidenceBasis, DataLimit, Draft, Stakes
from providers.http import ProviderError
from providers.inputs import Template, fit
from providers.tokens import TokenProbs

_REFUSAL_OPENINGS: Final = (
    "i'm sorry", "i am sorry", "i can't", "i cannot", "i won't", "i am unable", "i'm unable",
    "as an ai",
)  # fmt: skip


SENTINEL_BELOW: Final = -1000.0
"""Logprobs under this are servers' placeholders, not probabilities: OpenAI and vLLM
send -9999.0, llama.cpp -3.4e38 (one among 50 tokens made a confidence of 1e-87)."""


def usable_logprobs(logprobs: Iterable[object]) -> tuple[list[float], int]:
    """(real token logprobs, how many values were left out as placeholders or invalid).

    A real logprob is finite, at most 0 and not a sentinel; `None` entries (no logprob
    for that token) are simply absent, not counted.
    """
    values: list[float] = []
    left_out = 0
    for v in logprobs:
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            left_out += 1
            continue
        number = float(v)
        if math.isfinite(number) and SENTINEL_BELOW <= number <= 0.0:
            values.append(number)
        else:
            left_out += 1  # NaN, inf, a sentinel, or > 0 (exp() of 800 overflowed)
    return values, left_out


def logprob_confidence(logprobs: Iterable[object]) -> float | None:
    """Geometric-mean token probability: exp of the mean of the real logprobs.

    This is how sure the model was of its own tokens, not the probability that the draft
    is right. Placeholders and invalid values are left out (see `usable_logprobs`).
    None when there are no usable values — unknown, never 0 and never 1.
    """
    return mean_probability(usable_logprobs(logprobs)[0])


def mean_probability(values: list[float]) -> float | None:
    """Exp of the mean of real logprobs (from `usable_logprobs`); None for none."""
    if not values:
        return None
    return max(0.0, min(1.0, math.exp(sum(values) / len(values))))


def refusal_limit(text: str, explicit: bool = False) -> DataLimit | None:
    """A limit when the answer is (or looks like) a refusal."""
    if explicit:
        return DataLimit("refusal", "the model refused to answer", "high")
    if text.strip().lower().startswith(_REFUSAL_OPENINGS):
        return DataLimit("refusal", "the answer looks like a refusal", "warn")
    return None


def prompt_for(job: Job, template: Template, max_chars: int) -> tuple[str, list[DataLimit]]:
    """Render the template for a job; missing fields and truncation become limits."""
    prompt, missing = template.render(job.fields)
    limits = list(job.limits)
    if missing:
        limits.append(DataLimit(
            "missing-field", f"template fields missing from the record: {', '.join(missing)}",
            "warn",
        ))  # fmt: skip
    prompt, cut = fit(prompt, max_chars)
    if cut is not None:
        limits.append(cut)
    return prompt, limits


def make_draft(
    provider: str,
    source: str,
    job: Job,
    *,
    text: str,
    prompt: str,
    confidence: float | None,
    basis: ConfidenceBasis,
    limits: list[DataLimit],
    model: str,
    kind: str,
    stakes: str,
    title_field: str,
    meta: dict[str, Any],
    tokens: TokenProbs = (),
) -> Draft:
    """The draft for a job, with the record's own kind/stakes/title passing through."""
    record = job.fields
    chosen = str(record.get("stakes") or stakes).lower()
    try:
        return Draft(
            source=source,
            external_id=job.external_id,
            draft=text,
            kind=str(record.get("kind") or kind).lower(),
            title=str(record.get(title_field) or record.get("title") or "")[:500],
            input=prompt,
            confidence=confidence,
            confidence_basis=basis,
            data_limits=tuple(limits),
            model=model,
            stakes=_stakes(chosen),
            created_at=job.created_at,
            meta={"provider": provider, **meta},
            tokens=tokens,
        )
    except ValueError as error:
        raise ProviderError(provider, str(error)) from None


def _stakes(value: str) -> Stakes:
    for level in STAKES:
        if value == level:
            return level
    return "medium"
