"""The column-at-a-time CSV writer against its oracle: the csv module's own output."""

from __future__ import annotations

import csv
import io
import random

from store.csv_cells import CELL_LIMIT, CUT_NOTE, FORMULA_STARTS, csv_lines, csv_safe

# Characters that change how a cell is written, and the separator the writer joins with.
HOSTILE = ['"', ",", "\n", "\r", "\x1f", "=", "+", "-", "@", "\t", "\x00", "'", " ", "é"]
LETTERS = list("abcdefXYZ0189 .:")


def reference(value: object) -> object:
    """What the writer did before: cut, then neutralise text; the csv module quotes."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) > CELL_LIMIT:
        value = value[:CELL_LIMIT] + CUT_NOTE
    return csv_safe(value)


def oracle(rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerows([[reference(v) for v in row] for row in rows])
    return out.getvalue()


def _text(rng: random.Random, alphabet: list[str], length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _column(rng: random.Random, n: int) -> list[object]:
    """A column whose cells are mostly alike, as a real batch's are, with some outliers."""
    style = rng.choice(["clean", "commas", "quotes", "breaks", "hostile", "numbers", "mixed"])
    extra = {"clean": [], "commas": [","], "quotes": ['"'], "breaks": ["\n", "\r"]}
    cells: list[object] = []
    for _ in range(n):
        if style == "numbers":
            cells.append(rng.choice([None, rng.randint(-5, 5), rng.random() - 0.5, 1e-05]))
        elif style == "mixed":
            cells.append(rng.choice([None, "", 3, "x,y", "=1", -2.5, "plain"]))
        elif style == "hostile":
            cells.append(_text(rng, HOSTILE + LETTERS, rng.randint(0, 6)))
        else:
            text: str | None = _text(rng, LETTERS + extra[style], rng.randint(1, 12))
            if rng.random() < 0.05:  # now and then a formula, a long, empty or NULL cell
                text = rng.choice(sorted(FORMULA_STARTS)) + str(text)
            elif rng.random() < 0.02:
                text = "z" * (CELL_LIMIT + rng.randint(-1, 2))
            elif rng.random() < 0.02:
                text = ""
            elif rng.random() < 0.04:
                text = None
            cells.append(text)
    return cells


def test_every_batch_is_written_as_the_csv_module_writes_it() -> None:
    rng = random.Random(17)
    for _ in range(3000):
        n = rng.randint(1, 40)
        columns = [_column(rng, n) for _ in range(rng.randint(1, 6))]
        rows = [list(row) for row in zip(*columns, strict=True)]
        assert csv_lines(columns) == oracle(rows), columns


def test_each_formula_start_is_neutralised_and_numbers_are_not() -> None:
    for char in sorted(FORMULA_STARTS):
        assert csv_safe(char + "1") == "'" + char + "1"
    assert csv_safe("plain") == "plain"
    assert csv_safe("") == ""
    assert csv_lines([["=SUM(A1)", "-1", ""], [-1, 2, None]]) == "'=SUM(A1),-1\r\n'-1,2\r\n,\r\n"


def test_a_long_cell_is_cut_with_a_note() -> None:
    line = csv_lines([["x" * (CELL_LIMIT + 10)]])
    assert line == "x" * CELL_LIMIT + CUT_NOTE + "\r\n"
    assert csv_lines([]) == ""
