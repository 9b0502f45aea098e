"""Deliver final decisions from the outbox to their sources (`signoff push`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from providers.adapter import Provider
from providers.http import ProviderError, redact
from store import Store


@dataclass
class PushSummary:
    """What one push did."""

    delivered: int = 0
    failed: int = 0
    unroutable: int = 0
    """Deliveries for a source with no configured receiver (left queued)."""
    errors: list[str] = field(default_factory=list)


async def push(store: Store, receivers: Mapping[str, Provider], limit: int = 1000) -> PushSummary:
    """Try every due delivery once; failures are rescheduled with backoff, none is lost."""
    summary = PushSummary()
    for delivery in store.due(limit):
        provider = receivers.get(delivery.source)
        if provider is None:
            summary.unroutable += 1
            continue
        try:
            await provider.deliver(delivery.payload, delivery.idempotency_key)
        except ProviderError as error:
            message = redact(str(error), [s.reveal() for s in provider.secrets.values()])
            store.failed(delivery, message)
            summary.failed += 1
            summary.errors.append(f"event {delivery.payload.get('event')}: {message}")
            continue
        store.delivered(delivery)
        summary.delivered += 1
    return summary
