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

    point = points[type_name]
    try:
        cls = point.load()
    except Exception as error:  # a third-party package's import is out of our hands
        package = f" (from {point.dist.name})" if point.dist else ""
        raise LookupError(
            f"provider type {type_name!r}{package} failed to load: {type(error).__name__}: {error}"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise LookupError(f"entry point {type_name!r} is not a signoff Provider")
    return cls
