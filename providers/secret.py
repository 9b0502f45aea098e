"""Secrets that do not leak: a value whose repr never shows it."""

from __future__ import annotations


class Secret:
    """A secret value whose repr never shows it (crash screens print local variables)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself; call only where it is sent."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__
