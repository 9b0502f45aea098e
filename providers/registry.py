"""Providers are found through the entry-point group `signoff.providers`.

Built-ins are registered in signoff's own `pyproject.toml` exactly as a third-party
package would register its own, so listing names imports no adapter module.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from providers.records import did_you_mean

if TYPE_CHECKING:
    from providers.adapter import Provider

GROUP = "signoff.providers"


def _points() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=GROUP)}


def available() -> list[str]:
    """Installed provider types, without importing any of them."""
    return sorted(_points())


def load(type_name: str) -> type[Provider]:
    """Import and return the provider class registered as `type_name`.

    Raises:
        LookupError: No such provider type is installed (with a "did you mean").
    """
    points = _points()
    if type_name not in points:
        names = sorted(points)
        raise LookupError(
            f"no provider type {type_name!r}{did_you_mean(type_name, names)}; "
            f"installed: {', '.join(names) or 'none'}"
        )
    from providers.adapter import Provider  # only now: listing names stays light

    cls = points[type_name].load()
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise LookupError(f"entry point {type_name!r} is not a signoff Provider")
    return cls
