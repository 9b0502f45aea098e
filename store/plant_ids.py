"""Ids for catch trials: free ids in the style and range of a source's own.

A planted draft must not give itself away by its id: `lookalike` draws one that looks
like its neighbours' (`T-1042` → `T-1031`), learning each source's format once per
planting run (`IdFormat`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.db import Connection


@dataclass(slots=True)
class IdFormat:
    """What a planting run learnt of a source's ids with one prefix."""

    numbers: set[int]
    """A sample of the numbers after the prefix (see `_numbers`)."""
    padded: int
    """Their width when the source writes leading zeros, else 0."""
    misses: int = 0
    """Plants in a row whose random tries all met a taken id (see `_MISSES`)."""
    span: tuple[int, int] | None = field(init=False, default=None)
    """The sample's smallest and largest number (None while it is empty), kept as the
    sample changes: `min` and `max` over it for each plant were ~1.3 s of the ~22 s
    that planting 52k catch trials at a million items took."""

    def __post_init__(self) -> None:
        if self.numbers:
            self.span = (min(self.numbers), max(self.numbers))

    def replace_largest(self, number: int) -> None:
        """Put `number` (above the sample's largest) in the largest's place: the size stays."""
        if self.span is None:
            self.numbers.add(number)
            self.span = (number, number)
            return
        low, high = self.span
        self.numbers.discard(high)
        self.numbers.add(number)
        self.span = (number if low == high else low, number)


IdFormats = dict[tuple[str, str], IdFormat]
"""(source, prefix) → what one planting run learnt of those ids."""

_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")
_SAMPLE = 500
"""Ids of the source read to learn its id format and range (one index range scan)."""
_TRIES = 50
"""Random ids tried (in one query) before the next free one after the range is taken."""
_MISSES = 2
"""Plants in a row that found no free id among `_TRIES` before a run stops drawing: a
range that dense (~95 % taken or more) sends every plant after its end anyway, and the
draws and their query were a third of a dense source's planting (0.3 of 0.95 ms a plant)."""


def lookalike(
    conn: Connection,
    source: str,
    model: str,
    rng: random.Random,
    avoid: Collection[str] = frozenset(),
    formats: IdFormats | None = None,
    *,
    past_end: bool = True,
) -> str | None:
    """A free id in the source's own format and range (`T-1042` → `T-1031`).

    Numbers are drawn between the smallest and largest of the source's ids with the
    same prefix and padded only if the source pads them; a range with no free number
    left gets the next numbers after it, which is where the source's next real ids go
    (and a real record that wants such an id moves the plant). Ids without a number
    get a random id of the same shape (digits for digits, letters for letters).
    Never fails, unless `past_end` is False: then None where the id would go after the
    range (a plant made during an import: the import's next records want those ids, and
    each would move the plant again, batch after batch). `avoid`: ids about to be taken
    (the rest of an import batch); `formats`: what earlier calls learnt of the source's
    ids (one planting run).
    """

    def is_taken(conn: Connection, source: str, external_id: str) -> bool:
        return external_id in avoid or _stored(conn, source, external_id)

    def first_free(candidates: list[str]) -> str | None:
        # All tries in one query: one probe per try was one round trip each on a team
        # database, and a source with dense ids takes most tries (~47 a plant: 10 ms).
        fresh = [c for c in dict.fromkeys(candidates) if c not in avoid]
        stored = _stored_among(conn, source, fresh)
        return next((c for c in fresh if c not in stored), None)

    match = _TRAILING_NUMBER.match(model)
    if match is None:
        found = first_free([_same_shape(model, rng) for _ in range(_TRIES)])
        if found or not past_end:
            return found
        return _after_last(is_taken, conn, source, model + "-", 1, padded=0)
    prefix = match.group(1)
    known = formats if formats is not None else {}
    if (source, prefix) not in known:
        known[source, prefix] = _numbers(conn, source, prefix)
    learnt = known[source, prefix]
    padded = learnt.padded
    low, high = learnt.span or (1, int(match.group(2)))
    if learnt.misses < _MISSES:
        drawn = (rng.randint(low, high) for _ in range(_TRIES))
        found = first_free([
            prefix + (str(number).zfill(padded) if padded else str(number))
            for number in drawn if number not in learnt.numbers
        ])  # fmt: skip
        if found:
            learnt.misses = 0
            return found
        learnt.misses += 1
    if not past_end:
        return None
    after = _after_last(is_taken, conn, source, prefix, high + 1, padded)
    # The next plant of this run starts its search from here, not from the sample's end
    # again (~25 probes a plant on dense ids, each a round trip on a team database). The
    # sample's largest number is replaced, not added to: the sample stays its size (a
    # growing one made each plant rebuild it: a million-item import 70 → 120 s).
    learnt.replace_largest(int(after[len(prefix) :]))
    return after


def _numbers(conn: Connection, source: str, prefix: str) -> IdFormat:
    """A sample of the numbers after `prefix` in the source's ids, and their padding width.

    Padding is the digit count when the source writes leading zeros (`0042`), else 0.
    """
    rows = conn.execute(
        "SELECT external_id FROM items WHERE source = ? AND external_id >= ? "
        "AND external_id < ? ORDER BY external_id DESC LIMIT ?",
        (source, prefix, prefix + "\U0010ffff", _SAMPLE),
    ).fetchall()
    numbers, padded = set[int](), 0
    for (external_id,) in rows:
        digits = external_id[len(prefix) :]
        if digits.isascii() and digits.isdigit():
            numbers.add(int(digits))
            if len(digits) > 1 and digits.startswith("0"):
                padded = max(padded, len(digits))
    return IdFormat(numbers, padded)


def _after_last(
    taken: Callable[[Connection, str, str], bool],
    conn: Connection,
    source: str,
    prefix: str,
    start: int,
    padded: int,
) -> str:
    """The first free number from `start` on: probes double, then halve (few index probes)."""

    def free(number: int) -> bool:
        text = prefix + (str(number).zfill(padded) if padded else str(number))
        return not taken(conn, source, text)

    step = 1
    while not free(start + step - 1):
        step *= 2
    low, high = start + step // 2, start + step - 1  # taken below low (roughly), free at high
    if step > 1:  # `start` itself was taken (usually it is free: the last plant took start - 1)
        while low < high:
            middle = (low + high) // 2
            if free(middle):
                high = middle
            else:
                low = middle + 1
        while not free(high):  # the halving assumes a dense run; check the answer
            high += 1
    return prefix + (str(high).zfill(padded) if padded else str(high))


def _same_shape(model: str, rng: random.Random) -> str:
    hexish = all(c in "0123456789abcdef-" for c in model.lower())
    letters = "abcdef" if hexish else "abcdefghijklmnopqrstuvwxyz"
    out = []
    for char in model:
        if char.isdigit():
            out.append(rng.choice("0123456789"))
        elif char.isalpha() and char.isascii():
            picked = rng.choice(letters)
            out.append(picked.upper() if char.isupper() else picked)
        else:
            out.append(char)
    return "".join(out)


def _stored_among(conn: Connection, source: str, external_ids: list[str]) -> set[str]:
    """Which of `external_ids` the source already has (one query)."""
    if not external_ids:
        return set()
    marks = ", ".join("?" * len(external_ids))
    rows = conn.execute(
        f"SELECT external_id FROM items WHERE source = ? AND external_id IN ({marks})",
        (source, *external_ids),
    ).fetchall()
    return {row[0] for row in rows}


def _stored(conn: Connection, source: str, external_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM items WHERE source = ? AND external_id = ?", (source, external_id)
        ).fetchone()
        is not None
    )
