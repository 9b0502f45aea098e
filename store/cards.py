"""AI use cards: what each source's AI is for, and who answers for it (EU AI Act, §7.2).

A card is a few named fields kept in the config (`[use_cards.SOURCE]`). Its SHA-256 over
canonical JSON is its version: stamped, hashed, into every decision on that source's
items and into every export's manifest, so a record always says which card was in
force when it was made.
"""

from __future__ import annotations

from typing import Any, Final

from store.codec import canonical_json, sha256_text

CARD_FIELDS: Final = (
    "purpose", "scope", "model", "provider", "data_sources", "known_limits",
    "review_steps", "owner",
)  # fmt: skip
"""A card's fields, in the order they are shown."""


def card_hash(card: dict[str, Any]) -> str:
    """The card's version: SHA-256 of its canonical JSON (field order does not matter)."""
    return sha256_text(canonical_json({k: card[k] for k in CARD_FIELDS if k in card}))
