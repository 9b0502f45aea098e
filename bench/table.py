"""The benchmark table: rows of ours vs a same-run yardstick, medians with ranges."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    """One line of the table."""

    figure: str
    ours: list[float]
    yardstick: list[float]
    unit: str
    goal: str
    ratio: float
    met: bool
    samples: dict[str, list[list[float]]] | None = None
    """What the figures were made of, kept for a later look at a tail (a few rows only)."""


def med(values: list[float]) -> float:
    """Median."""
    return statistics.median(values)


def paired(ours: list[float], theirs: list[float]) -> float:
    """The median of ours over the yardstick, pair by pair (as `alternate` ran them).

    On a machine whose speed shifts between runs (this one's starts came at two speeds a
    run apart), each pair ran at one speed, so their ratio holds where a median over
    each side's samples can pair a fast one with a slow one.
    """
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def span(values: list[float], unit: str) -> str:
    """`median unit (min-max)`."""
    return f"{med(values):.4g} {unit} ({min(values):.4g}-{max(values):.4g})"


def alternate(
    rounds: int, ours: Callable[[], float], theirs: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Ours and the yardstick, `rounds` times, the order flipping every round.

    Drift (a warming cache, a busy neighbour) hits both alike, and neither side always
    runs on the other's leftovers.
    """
    a: list[float] = []
    b: list[float] = []
    for n in range(rounds):
        if n % 2:
            b.append(theirs())
            a.append(ours())
        else:
            a.append(ours())
            b.append(theirs())
    return a, b


def print_table(rows: list[Row]) -> None:
    """One line per figure: ours, yardstick, ratio, goal, met."""
    print(f"{'figure':<68} {'ours':<34} {'yardstick':<34} {'ratio':>6}  {'goal':<17} met")
    for r in rows:
        print(
            f"{r.figure:<68} {span(r.ours, r.unit):<34} {span(r.yardstick, r.unit):<34} "
            f"{r.ratio:6.2f}  {r.goal:<17} {'yes' if r.met else 'NO'}"
        )
