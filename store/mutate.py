"""Mutations that turn a real draft into a planted wrong one a careful reader would catch.

Each mutation changes one thing and says what it changed, so the reviewer can be told
afterwards exactly what was planted: a number, a negation, a name or date, or a policy
promise nobody made. Pure functions; the randomness comes from the caller's `Random`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Mutation:
    """A planted change: what kind, what exactly, and the resulting text."""

    kind: str
    """`number`, `negation`, `swap`, `policy-claim` or `label`."""
    detail: str
    """What changed, in words the reviewer is shown after deciding."""
    text: str


_NUMBER: Final = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w])")
_NEGATIONS: Final = (
    (r"\bis not\b", "is"), (r"\bisn't\b", "is"), (r"\bcannot\b", "can"), (r"\bcan't\b", "can"),
    (r"\bwill not\b", "will"), (r"\bwon't\b", "will"), (r"\bdoes not\b", "does"),
    (r"\bdoesn't\b", "does"), (r"\bdo not\b", "do"), (r"\bdon't\b", "do"),
    (r"\bis\b", "is not"), (r"\bcan\b", "cannot"), (r"\bwill\b", "will not"),
    (r"\bhas been\b", "has not been"), (r"\bare\b", "are not"), (r"\bwas\b", "was not"),
)  # fmt: skip
_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Compiled once (`re.search` with a pattern string looks it up in re's cache each call),
# and one search over all of a list first: most drafts hold none of the 19 names, and a
# search per name was ~1.5 s of planting 52k catch trials at a million items. When one
# is there, the loops still pick in list order, not text order.
_NEGATION_PATTERNS: Final = tuple((re.compile(p), r) for p, r in _NEGATIONS)
_ANY_NEGATION: Final = re.compile("|".join(f"(?:{p})" for p, _ in _NEGATIONS))
_NAME_PATTERNS: Final = tuple(
    (names, tuple(re.compile(rf"\b{name}\b") for name in names)) for names in (_DAYS, _MONTHS)
)
_ANY_NAME: Final = re.compile(rf"\b(?:{'|'.join(_DAYS + _MONTHS)})\b")
_ISO_DATE: Final = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_CLAIMS: Final = (
    "We will also refund the full amount of every order on your account, no questions asked.",
    "As a goodwill gesture, your next twelve months are free of charge.",
    "Our policy guarantees compensation of 500 EUR for any delay.",
    "This has already been cleared by the compliance team, so no further checks are needed.",
    "The customer's credit limit may be raised without a review.",
    "You may keep the item and we will still refund you in full.",
)


def mutate(text: str, kind: str, rng: random.Random, labels: Sequence[str] = ()) -> Mutation | None:
    """One mutation of `text` chosen at random among those that apply, or None."""
    if kind == "label":
        others = [label for label in labels if label != text]
        if not others:
            return None
        new = rng.choice(others)
        return Mutation("label", f"label changed from {text!r} to {new!r}", new)
    candidates: list[Callable[[str, random.Random], Mutation | None]] = [
        _number, _negation, _swap,
    ]  # fmt: skip
    rng.shuffle(candidates)
    if kind != "score":
        candidates.append(_policy_claim)  # always applies to text: the fallback
    for candidate in candidates:
        found = candidate(text, rng)
        if found is not None and found.text != text:
            return found
    return None


def _number(text: str, rng: random.Random) -> Mutation | None:
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    match = rng.choice(matches)
    old = match.group(1)
    new = _other_number(old, rng)
    return Mutation(
        "number",
        f"the number {old} was changed to {new}",
        text[: match.start(1)] + new + text[match.end(1) :],
    )


def _other_number(old: str, rng: random.Random) -> str:
    sep = "," if "," in old else "."
    if sep in old:
        whole, frac = old.split(sep)
        value = float(f"{whole}.{frac}")
        if value <= 1.0:  # a probability or a score on 0..1: move it across the range
            changed = round(1.0 - value if abs(1.0 - 2 * value) > 0.2 else value / 3, len(frac))
        else:
            changed = round(value * rng.choice((0.5, 2.0, 3.0)), len(frac))
        return f"{changed:.{len(frac)}f}".replace(".", sep)
    value = int(old)
    if value >= 10 and old[::-1] != old and not old.endswith("0"):
        return old[::-1]  # 72 → 27: the slip a tired eye misses
    return str(value * rng.choice((2, 3, 10)) if value else rng.randint(2, 9))


def _negation(text: str, rng: random.Random) -> Mutation | None:
    if not _ANY_NEGATION.search(text):
        return None
    for pattern, replacement in _NEGATION_PATTERNS:
        match = pattern.search(text)
        if match:
            old = match.group(0)
            new = replacement if old[0].islower() else replacement.capitalize()
            return Mutation(
                "negation",
                f"{old!r} was flipped to {new!r}",
                text[: match.start()] + new + text[match.end() :],
            )
    return None


def _swap(text: str, rng: random.Random) -> Mutation | None:
    match = _ISO_DATE.search(text)
    if match:
        day = int(match.group(3))
        new_day = day + 7 if day <= 21 else day - 7
        new = f"{match.group(1)}-{match.group(2)}-{new_day:02d}"
        return Mutation(
            "swap",
            f"the date {match.group(0)} was changed to {new}",
            text[: match.start()] + new + text[match.end() :],
        )
    if not _ANY_NAME.search(text):
        return None
    for names, patterns in _NAME_PATTERNS:
        for name, pattern in zip(names, patterns, strict=True):
            found = pattern.search(text)
            if found:
                new = rng.choice([n for n in names if n != name])
                return Mutation(
                    "swap",
                    f"{name} was changed to {new}",
                    text[: found.start()] + new + text[found.end() :],
                )
    return None


def _policy_claim(text: str, rng: random.Random) -> Mutation:
    claim = rng.choice(_CLAIMS)
    joined = text.rstrip()
    joined += ("\n\n" if "\n" in joined else " ") + claim
    return Mutation("policy-claim", f"a promise nobody made was added: {claim!r}", joined)
