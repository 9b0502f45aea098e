"""Canonical encodings shared by the queue and the ledger (hashes, JSON columns)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from providers.base import SEVERITY_RANK, DataLimit, Draft


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text, NaN refused."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_text(text: str) -> str:
    """Hex SHA-256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def limits_json(limits: tuple[DataLimit, ...]) -> str:
    """Data limits as stored, worst first (the order the reviewer should read them)."""
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
    return sha256_text(
        canonical_json(
            {
                "kind": draft.kind,
                "title": draft.title,
                "input": draft.input,
                "draft": draft.draft,
                "confidence": draft.confidence,
                "basis": draft.confidence_basis,
                "limits": [limit.as_json() for limit in draft.data_limits],
                "model": draft.model,
                "stakes": draft.stakes,
                "created_at": draft.created_at.isoformat() if draft.created_at else None,
                "meta": draft.meta,
            }
        )
    )
