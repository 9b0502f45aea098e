"""Canonical encodings shared by the queue and the ledger (hashes, JSON columns)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from providers.base import SEVERITY_RANK, DataLimit, Draft

GENESIS_HASH = "0" * 64
"""`prev_hash` of the first ledger event."""

# Encoders built once: json.dumps with options constructs a new one per call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text, NaN refused."""
    return _CANONICAL.encode(value)


def compact_json(value: Any) -> str:
    """JSON without spaces, keys in the order given, NaN refused."""
    return _COMPACT.encode(value)


def sha256_text(text: str) -> str:
    """Hex SHA-256 of UTF-8 text."""
    # Imported at the first hash: hashlib's OpenSSL set-up was ~2 ms of the review app's
    # start to the first row, which hashes nothing. A repeated `import hashlib` is ~0.1 µs
    # a call (`from hashlib import sha256` was ~0.7: ~2 % of an imported record).
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def limits_json(limits: tuple[DataLimit, ...]) -> str:
    """Data limits as stored, worst first (the order the reviewer should read them)."""
    if not limits:
        return "[]"
    if not limits:
        return "[]"
    ordered = sorted(limits, key=lambda limit: -SEVERITY_RANK[limit.severity])
    return canonical_json([limit.as_json() for limit in ordered])


def limits_from_json(text: str) -> tuple[DataLimit, ...]:
    """Inverse of `limits_json`."""
    return tuple(
        DataLimit(kind=entry["kind"], detail=entry["detail"], severity=entry["severity"])
        for entry in json.loads(text)
    )


def worst_limit(limits: tuple[DataLimit, ...]) -> int:
    """0 when no limits were reported, else the highest severity rank."""
    return max((SEVERITY_RANK[limit.severity] for limit in limits), default=0)


def content_hash(draft: Draft) -> str:
    """Hash of everything a source sent for a draft, to tell an update from a repeat."""
    # A fixed-order list (not a sorted dict) is canonical and cheaper to encode;
    # only `meta` needs sorted keys.
    fields = [
        draft.kind,
        draft.title,
        draft.input,
        draft.draft,
        draft.confidence,
        draft.confidence_basis,
        [[limit.kind, limit.detail, limit.severity] for limit in draft.data_limits],
        draft.model,
        draft.stakes,
        draft.created_at.isoformat() if draft.created_at else None,
        canonical_json(draft.meta) if draft.meta else None,
    ]
    return sha256_text(compact_json(fields))


def first_break(
    rows: Iterable[Sequence[Any]],
    names: Sequence[str],
    digest: Callable[[dict[str, Any]], str],
    start: tuple[int, str],
    noun: str,
) -> tuple[int, str, str]:
    """Walk a hash chain's rows in order: (position reached, last good hash, problem).

    Each row must be the next position, link to the hash before it, and hash to its own
    `hash`; `problem` names the first that does not ("" when all do). The ledger and the
    incident register are both chains of this kind.
    """
    count, expected = start
    for row in rows:
        fields = dict(zip(names, row, strict=True))
        count += 1
        if fields["seq"] != count:
            return count, expected, f"{noun} numbers jump from {count - 1} to {fields['seq']}"
        if fields["prev_hash"] != expected:
            return count, expected, f"{noun} {count} does not link to the {noun} before it"
        if digest(fields) != fields["hash"]:
            return (
                count,
                expected,
                (f"{noun} {count} has been altered (its hash does not match its content)"),
            )
        expected = fields["hash"]
    return count, expected, ""
