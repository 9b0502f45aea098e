"""The CSV export's numbers read as PostgreSQL's text: written as Python writes the numbers.

On PostgreSQL the CSV export reads integers and confidences as the server's text and
writes them as they come (`store.writers._csv_reads`, `store.csv_cells.float_cells`),
where it used to read numbers and write `str` of each. These tests hold the new way to
the old one: every double at every `extra_float_digits`, and a whole export.
"""

from __future__ import annotations

import io
import random
import struct
from typing import Any

import pytest

from store import Store
from store.csv_cells import float_cells
from store.export import ExportFilter
from store.pg import PgConnection
from store.writers import _csv_reads, numbers_as_text, write_csv
from tests.conftest import FakeClock, make_draft

EDGES = [
    0.0, -0.0, 1.0, 0.1, 1 / 3, 0.30000000000000004, 1e-05, 1.5e-05, 5e-324, 1e-4,
    9.999999999999999e-05, 0.12345678901234568, 2.0, 123.0, 1e15, 1e16, 1e22,
    1021299653011186.2, 2.22760310966694e17, 1.7e308, -2.5,
    float("nan"), float("inf"), float("-inf"), None,
]  # fmt: skip
"""Not the largest double: rounded (`extra_float_digits` ≤ 0) it is out of range, and
psycopg, reading it as a number, raised (as the export did before)."""


def doubles(n: int) -> list[float | None]:
    """The edges, then confidences, scaled values and random bit patterns."""
    rng = random.Random(11)
    out: list[float | None] = list(EDGES)
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(rng.random())
        elif kind == 1:
            out.append(rng.random() * 10 ** rng.randint(-30, 30))
        else:
            out.append(struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0])
    return out


@pytest.mark.parametrize("digits", [3, 1, 0, -5])
def test_a_double_read_as_text_is_written_as_python_writes_the_double_read(
    pg_url: str, digits: int
) -> None:
    """For each double, `float_cells` of its text equals `str` of it read as a number.

    At any `extra_float_digits`: at 1 and above the server writes the shortest exact
    decimal, at 0 and below a rounded one, and psycopg's number is read from that.
    """
    import psycopg

    values = doubles(30_000)
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TEMP TABLE d (i int, x float8)")
        with conn.cursor().copy("COPY d (i, x) FROM STDIN") as copy:
            for i, value in enumerate(values):
                copy.write_row((i, value))
        conn.execute(f"SET extra_float_digits = {digits}")
        read = conn.execute("SELECT x, COALESCE(CAST(x AS TEXT), '') FROM d ORDER BY i").fetchall()
    numbers, texts = zip(*read, strict=True)
    expected = ["" if number is None else str(number) for number in numbers]
    got = float_cells(texts)
    wrong = [(t, g, e) for t, g, e in zip(texts, got, expected, strict=True) if g != e]
    assert not wrong, wrong[:5]
    # The edges take each way: as they came, and through `float`.
    assert {"0.0", "-0.0", "1.0", "nan", "inf", "1e-05"} <= set(got)


def test_a_team_csv_export_reads_numbers_as_text_and_writes_what_it_wrote_before(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export with numbers read as text equals the one with numbers read as numbers.

    Confidences at the edges (none, 0, 1, 1e-05, the smallest double, 17 digits),
    integers in every number column, a retraction (no claim, a retracted event).
    """
    confidences = [None, 0.0, 1.0, 1e-05, 5e-324, 0.1, 1 / 3, 0.12345678901234568]
    with Store(pg_url, now=clock) as store:
        store.ingest(
            [make_draft(f"N-{i}", confidence=c, confidence_basis="provider" if c is not None
                        else "none") for i, c in enumerate(confidences)]
        )  # fmt: skip
        actions: list[Any] = ["approve", "reject", "edit", "escalate"]
        last = None
        for i in range(len(confidences)):
            claim = store.claim_next("alice")
            assert claim is not None
            clock.advance(seconds=7 * i + 1)
            action = actions[i % len(actions)]
            last = store.decide(
                claim, action, f"Checked number {i} against the source",
                output="Changed, with care" if action == "edit" else None,
                reason_code="factual-error" if action == "reject" else None,
            )  # fmt: skip
        assert last is not None
        store.retract(last.seq, "alice", "Recorded on the wrong item, taken back")
        conn = store.conn
        assert isinstance(conn, PgConnection)
        assert conn.numbers_as_text_exact
        # The text way is taken.
        assert "CAST" in _csv_reads(numbers_as_text(conn))["shown_confidence"]

        def export() -> str:
            out = io.StringIO(newline="")
            with store.snapshot():
                write_csv(out, conn, ExportFilter(include_planted=True))
            return out.getvalue()

        as_text = export()
        monkeypatch.setattr(PgConnection, "numbers_as_text_exact", property(lambda _: False))
        assert "shown_confidence" not in _csv_reads(numbers_as_text(conn))
        assert as_text == export()
    cells = {line.split(",")[10] for line in as_text.splitlines()[1:]}
    assert {"", "0.0", "1.0", "1e-05", "5e-324", "0.1", "0.12345678901234568"} <= cells
