"""Per-token log-probabilities, kept with the draft: where the model was unsure.

A draft's tokens are `(characters, logprob)` pairs in order over its text: the first
token covers `draft[0:n0]`, the next `draft[n0:n0 + n1]`, and so on. A logprob is None
where the server gave none (a placeholder, or text that is not the model's own). Kept
only when the tokens' texts, joined, are exactly the draft: marks on the wrong words
would be worse than none. Bounded: the first `MAX_TOKENS` tokens.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Final

TokenProbs = tuple[tuple[int, float | None], ...]
"""(characters, logprob or None) per token, in order over the draft."""

MAX_TOKENS: Final = 16_384
"""Tokens kept per draft (~10 bytes each stored): longer drafts are marked in part."""


def logprob_of(value: object) -> float | None:
    """A real token logprob (finite, at most 0), or None for a placeholder or junk."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    # Servers send -9999 and the like for "no probability": not a real one.
    if not math.isfinite(number) or number > 0 or number < -1000:
        return None
    return number


def aligned(text: str, tokens: Sequence[tuple[object, object]]) -> TokenProbs:
    """`(len, logprob)` per token when the tokens' texts join to exactly `text`; else ()."""
    if not tokens or len(tokens) > 4 * MAX_TOKENS:
        return ()
    pieces: list[tuple[int, float | None]] = []
    position = 0
    for piece, value in tokens:
        if not isinstance(piece, str) or not text.startswith(piece, position):
            return ()
        position += len(piece)
        pieces.append((len(piece), logprob_of(value)))
    if position != len(text):
        return ()
    return tuple(pieces[:MAX_TOKENS])


def problem(draft: str, tokens: TokenProbs) -> str | None:
    """Why `tokens` cannot belong to `draft`, or None."""
    if len(tokens) > MAX_TOKENS:
        return f"more than {MAX_TOKENS:,} token probabilities"
    total = 0
    for length, value in tokens:
        if length < 0 or (value is not None and logprob_of(value) is None):
            return "a token probability is not a length and a logprob at most 0"
        total += length
    if total > len(draft):
        return "the token probabilities cover more text than the draft has"
    return None


def encode(tokens: TokenProbs) -> str | None:
    """As stored: compact JSON, logprobs to 3 decimals; None for no tokens."""
    if not tokens:
        return None
    rows = [[n, None if v is None else round(v, 3)] for n, v in tokens]
    return json.dumps(rows, separators=(",", ":"))


def decode(stored: str | None) -> TokenProbs:
    """Inverse of `encode` (a damaged value gives no tokens, never an error)."""
    if not stored:
        return ()
    try:
        rows = json.loads(stored)
        return tuple((int(n), None if v is None else float(v)) for n, v in rows)
    except (ValueError, TypeError):
        return ()


def from_records(text: str, value: object) -> TokenProbs:
    """Tokens from an imported record's `token_logprobs` (OpenAI's `logprobs.content`).

    A list of `{"token": "…", "logprob": -0.12}`. Raises ValueError when malformed or
    when they do not spell the draft.
    """
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ValueError('token_logprobs must be a list of {"token": …, "logprob": …}')
    found = aligned(text, [(t.get("token"), t.get("logprob")) for t in value])
    if not found:
        raise ValueError("token_logprobs do not spell the draft exactly (token by token)")
    return found


def spliced(old: str, new: str, tokens: TokenProbs) -> TokenProbs:
    """Tokens for `new`, a changed copy of `old` (a catch trial's edit).

    Unchanged text keeps its tokens; the changed stretch becomes one token without a
    probability, so it shows unmarked, as text the model was sure of would.
    """
    if not tokens:
        return ()
    shorter = min(len(old), len(new))
    head = 0
    while head < shorter and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shorter - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    kept_head, kept_tail, position = [], [], 0
    for length, value in tokens:
        if position + length <= head:
            kept_head.append((length, value))
        elif position >= len(old) - tail:
            kept_tail.append((length, value))
        position += length
    if position != len(old):
        return tuple(kept_head)  # the tokens covered a prefix only: no tail to align
    middle = len(new) - sum(n for n, _ in kept_head) - sum(n for n, _ in kept_tail)
    return (*kept_head, *([(middle, None)] if middle else []), *kept_tail)
