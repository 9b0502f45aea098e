"""Canonical encodings shared by the queue and the ledger (hashes, JSON columns)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from providers.base import SEVERITY_RANK, DataLimit, DraftFields

GENESIS_HASH = "0" * 64
"""`prev_hash` of the first ledger event."""


def _encoder(sort_keys: bool) -> Callable[[Any], str]:
    """`JSONEncoder(...).encode` with its C encoder made once, not at every call.

    `encode` makes a new C encoder (and a closure, and a dict for circular checks) per
    call: ~35 % of encoding an event's hashed fields, which `verify` does for every
    event. The text is the same (a test holds it to `json.dumps`); a structure that
    contains itself, which nothing signoff encodes can, would recurse instead.
    """
    options = json.JSONEncoder(
        sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    try:
        from _json import make_encoder
    except ImportError:  # a Python without the C accelerator
        return options.encode
    from json.encoder import encode_basestring

    try:
        made = make_encoder(
            None, options.default, encode_basestring, None, ":", ",", sort_keys, False, False
        )
    except TypeError:  # another Python's private signature: the public way, slower
        return options.encode

    def encode(value: Any) -> str:
        return "".join(made(value, 0))

    sample = {"b": [1, 0.1, None, True, "é\n\u2028"], "a": {"y": 1e-05, "x": "\x00"}}
    return encode if encode(sample) == options.encode(sample) else options.encode


canonical_json: Final = _encoder(sort_keys=True)
"""Deterministic JSON: sorted keys, no spaces, UTF-8 text, NaN refused."""
compact_json: Final = _encoder(sort_keys=False)
"""JSON without spaces, keys in the order given, NaN refused."""


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
    ordered = sorted(limits, key=lambda limit: -SEVERITY_RANK[limit.severity])
    return canonical_json([limit.as_json() for limit in ordered])


def limits_from_json(text: str) -> tuple[DataLimit, ...]:
    """Inverse of `limits_json`."""
    if text == "[]":  # most items: no JSON parser run for nothing
        return ()
    return tuple(
        DataLimit(kind=entry["kind"], detail=entry["detail"], severity=entry["severity"])
        for entry in json.loads(text)
    )


def worst_limit(limits: tuple[DataLimit, ...]) -> int:
    """0 when no limits were reported, else the highest severity rank."""
    if not limits:  # most drafts: no generator set up for nothing
        return 0
    return max(SEVERITY_RANK[limit.severity] for limit in limits)


def content_hash(fields: DraftFields) -> str:
    """Hash of everything a source sent for a draft, to tell an update from a repeat."""
    _, _, text, kind, title, input_, confidence, basis, limits, model, stakes, created, meta, _ = (
        fields
    )
    # A fixed-order list (not a sorted dict) is canonical and cheaper to encode;
    # only `meta` needs sorted keys.
    hashed = [
        kind,
        title,
        input_,
        text,
        confidence,
        basis,
        [[limit.kind, limit.detail, limit.severity] for limit in limits] if limits else [],
        model,
        stakes,
        created.isoformat() if created else None,
        canonical_json(meta) if meta else None,
    ]
    return sha256_text(compact_json(hashed))


def first_break(
    rows: Iterable[Sequence[Any]],
    names: Sequence[str],
    digest: Callable[[Sequence[Any]], str],
    start: tuple[int, str],
    noun: str,
) -> tuple[int, str, str]:
    """Walk a hash chain's rows in order: (position reached, last good hash, problem).

    Each row (columns `names`, among them `seq`, `prev_hash` and `hash`) must be the
    next position, link to the hash before it, and hash to its own `hash` (`digest`
    of the row); `problem` names the first that does not ("" when all do). The ledger
    and the incident register are both chains of this kind.
    """
    seq_at, prev_at, hash_at = (names.index(n) for n in ("seq", "prev_hash", "hash"))
    count, expected = start
    for row in rows:
        count += 1
        if row[seq_at] != count:
            return count, expected, f"{noun} numbers jump from {count - 1} to {row[seq_at]}"
        if row[prev_at] != expected:
            return count, expected, f"{noun} {count} does not link to the {noun} before it"
        if digest(row) != row[hash_at]:
            return (
                count,
                expected,
                (f"{noun} {count} has been altered (its hash does not match its content)"),
            )
        expected = row[hash_at]
    return count, expected, ""
