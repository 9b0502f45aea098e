"""CSV for spreadsheets, a column of a batch at a time.

The bytes are exactly what `csv.writer` (QUOTE_MINIMAL, CR LF line ends) writes of
neutralised cells: text a spreadsheet would run as a formula gets a leading `'`, text
over `CELL_LIMIT` is cut with a note. The csv module looks at every character in C, one
at a time, and the neutralising loop looked at every cell in Python: at a million events
that was ~9 s of an 11 s export. Here a column of a batch is checked with a few
whole-batch string searches (`in` on one joined string, `max(map(len, ...))`), and only
columns that need it are done cell by cell, so the same file takes about half the time.
`tests/unit_tests/test_csv_cells.py` holds the csv module's output as the oracle.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import Final, cast

CELL_LIMIT: Final = 32_000
"""Spreadsheets refuse cells over 32,767 characters; longer text is cut with a note."""
CUT_NOTE: Final = " … [cut: the JSONL export and the database keep it whole]"
FORMULA_STARTS: Final = frozenset("=+-@\t\r\x00")
"""First characters that make a spreadsheet read a cell as a formula (or hide its start)."""
LINE_END: Final = "\r\n"

_JOIN: Final = "\x1f"  # joins a column's cells for the whole-batch searches below
_NONE: Final = type(None)
_first = itemgetter(0)


def csv_safe(value: object) -> object:
    """Neutralise spreadsheet formulas: text starting with = + - @ TAB CR NUL gets a `'`."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def cell(value: object) -> str:
    """One cell as written: None empty, text cut, neutralised and quoted if it must be.

    Only text is neutralised (a negative number stays a number). Quoted, as the csv
    module quotes, when it holds a quote (doubled), a comma or a line break.
    """
    if value is None:
        return ""
    if type(value) is str:
        if len(value) > CELL_LIMIT:
            value = value[:CELL_LIMIT] + CUT_NOTE
        if value[:1] in FORMULA_STARTS:
            value = "'" + value
        return _quoted(value)
    return _quoted(str(value))


def _plain_starts(texts: Sequence[str], joined: str) -> bool:
    """No cell starts like a formula or needs cutting (`joined`: all of them; empty is fine)."""
    try:
        firsts = "".join(map(_first, texts))
    except IndexError:  # an empty cell (a model not named): it starts with nothing
        firsts = "".join([text[:1] for text in texts])
    if any(start in firsts for start in FORMULA_STARTS):
        return False
    # The joined length bounds every cell's: a batch's short cells need no `len` each.
    return len(joined) <= CELL_LIMIT or max(map(len, texts)) <= CELL_LIMIT


def column(values: Sequence[object]) -> Sequence[str]:
    """The cells of one column of a batch, each exactly as `cell` writes it."""
    try:
        joined = _JOIN.join(values)  # type: ignore[arg-type]
    except TypeError:  # not all text: numbers, NULLs
        return _mixed(values)
    texts = cast("Sequence[str]", values)
    if not _plain_starts(texts, joined):
        return list(map(cell, texts))
    return _quoted_all(texts, joined)


def _quoted_all(texts: Sequence[str], joined: str) -> Sequence[str]:
    """`_quoted` of each text, decided for all at once where `joined` allows."""
    if '"' in joined:
        return [_quoted(t) for t in texts]
    if "," in joined or "\n" in joined or "\r" in joined:  # `_quoted` inlined: no quotes
        return ['"' + t + '"' if "," in t or "\n" in t or "\r" in t else t for t in texts]
    return texts


def _quoted(text: str) -> str:
    """Quoted as the csv module quotes: when it holds a quote (doubled), comma or break."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return '"' + text + '"' if "," in text or "\n" in text or "\r" in text else text


def _mixed(values: Sequence[object]) -> Sequence[str]:
    """`column` of cells that are not all text."""
    kinds = set(map(type, values))
    if kinds <= {int, float, _NONE}:  # numbers: never neutralised, never quoted
        if _NONE in kinds:
            return ["" if value is None else str(value) for value in values]
        return list(map(str, values))
    if not kinds <= {str, _NONE}:
        return list(map(cell, values))
    # Text and NULLs (an output, a reason): the NULLs written empty, the text as above.
    cells = ["" if t is None else t for t in cast("Sequence[str | None]", values)]
    joined = _JOIN.join(cells)
    if not _plain_starts(cells, joined):
        return list(map(cell, values))
    return _quoted_all(cells, joined)


def float_cells(texts: Sequence[str]) -> list[str]:
    """The cells of a column of doubles read as the server's text (NULL read as '').

    Each exactly as `cell` writes the double itself (its `repr`): a plain decimal
    (`0.07`) is already that when the server writes the shortest exact decimal or a
    rounded one (`store.pg.PgConnection.numbers_as_text_exact`); an integral value
    (`1`), an exponent (`1e-05`: Python's and PostgreSQL's differ above 1e15) or NaN
    and infinities go through `float`. A million confidences (17 digits, as the
    bench's): 0.10 s of processor time, where `column` of the doubles took 1.16 s.
    """
    return [
        text if ("." in text and "e" not in text) or not text else repr(float(text))
        for text in texts
    ]


def csv_lines(columns: Sequence[Sequence[object]], cells_at: Collection[int] = ()) -> str:
    """The lines of a batch of rows given as its columns, each line ended by CR LF.

    Columns at `cells_at` are already cells (text written as it is).
    """
    if not columns or not columns[0]:
        return ""
    cells = [
        cast("Sequence[str]", values) if at in cells_at else column(values)
        for at, values in enumerate(columns)
    ]
    if len(cells) == 1:  # a line of one empty cell is written `""`, or it would be blank
        cells = [['""' if text == "" else text for text in cells[0]]]
    return LINE_END.join(map(",".join, zip(*cells, strict=True))) + LINE_END
