"""What a value for a score or label item may be: one check for judgements and overrides."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from store.errors import DecisionError
from store.models import Item

# "0-100", "0 to 1", "0..1", and the en and em dashes people type ("0\u20131").
_SCALE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|\u2013|\u2014|to|\.\.)\s*(-?\d+(?:\.\d+)?)")


def score_scale(meta: Mapping[str, Any]) -> tuple[float, float] | None:
    """The score's range from `meta.scale` (`"0-100"`, `"0 to 1 probability"`, `[0, 1]`)."""
    scale = meta.get("scale")
    low = high = None
    if isinstance(scale, str):
        match = _SCALE.match(scale)
        if match:
            low, high = float(match.group(1)), float(match.group(2))
    elif isinstance(scale, list | tuple) and len(scale) == 2:
        try:
            low, high = float(scale[0]), float(scale[1])
        except (TypeError, ValueError):
            return None
    if low is None or high is None or not low < high:
        return None
    return low, high


def describe_scale(scale: tuple[float, float]) -> str:
    """`0 to 100`, `0 to 1`."""
    return " to ".join(f"{n:g}" for n in scale)


def labels_of(item: Item) -> list[str] | None:
    """The item's allowed labels (`meta.labels`), if it names any."""
    labels = item.meta.get("labels")
    return [str(x) for x in labels] if isinstance(labels, list) and labels else None


def check_value(item: Item, value: str, what: str) -> None:
    """Refuse a score outside the item's scale or a label it does not allow.

    Args:
        item: A score or label item (other kinds pass).
        value: The reviewer's value.
        what: How the message names it ("your score", "the new value").

    Raises:
        DecisionError: Not a number, outside the scale, or not one of the labels.
    """
    if item.kind == "score":
        try:
            number = float(value)
        except ValueError:
            raise DecisionError(f"{value[:40]!r} is not a number: give {what} as one") from None
        if not math.isfinite(number):
            raise DecisionError(f"{what} must be a finite number")
        scale = score_scale(item.meta)
        if scale is not None and not scale[0] <= number <= scale[1]:
            raise DecisionError(
                f"{value[:40]} is outside this score's scale ({describe_scale(scale)}): "
                f"give {what} on that scale"
            )
    elif item.kind == "label":
        labels = labels_of(item)
        if labels is not None and value not in labels:
            raise DecisionError(f"{value[:40]!r} is not one of the labels: {', '.join(labels)}")
