"""A long JSONL export is read back in several processes and says what one process says.

The real thresholds are 64 MB a file and 16 MB a range; here a file of a few kilobytes
is cut into ranges of 700 bytes (a few lines each, most cut mid-line and moved to the
next line's start), read by two spawned processes.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from store import audit, chain_split
from tests.conftest import FakeClock
from tests.unit_tests.test_export import audit as problems_of
from tests.unit_tests.test_export import decide_some, export


@pytest.fixture
def exported(db_target: Path | str, clock: FakeClock, tmp_path: Path) -> tuple[Path | str, Path]:
    """Ten decisions and their JSONL export, on each engine in turn."""
    from store import Store

    with Store(db_target, now=clock) as store:
        decide_some(store, clock, 10)
    out = tmp_path / "log.jsonl"
    assert export(db_target, out).returncode == 0
    return db_target, out


def _split(monkeypatch: pytest.MonkeyPatch, *, on: bool) -> None:
    monkeypatch.setattr(audit, "JSONL_SPLIT_FROM", 0 if on else 1 << 62)
    monkeypatch.setattr(audit, "JSONL_RANGE", 700)
    monkeypatch.setattr(chain_split, "processors", lambda: 2)


def test_any_file_reads_the_same_in_ranges(
    exported: tuple[Path | str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = exported
    pristine = out.read_bytes()
    lines = pristine.splitlines(keepends=True)
    assert len(pristine) > 5 * 700  # several ranges
    variants = {
        "pristine": pristine,
        "edited": pristine.replace(b'"reviewer":"alice"', b'"reviewer":"alicf"', 1),
        "a line removed": b"".join(lines[:4] + lines[5:]),
        "two swapped": b"".join([lines[1], lines[0], *lines[2:]]),
        "CRLF line ends": pristine.replace(b"\n", b"\r\n"),
        "a bare CR ends a line": pristine.replace(b"\n", b"\r", 3),
        "a blank line": b"".join([*lines[:6], b"\n", *lines[6:]]),
        "not JSON": b"".join([*lines[:7], b"{oops\n", *lines[8:]]),
        "no last line end": pristine.rstrip(b"\n"),
        "not UTF-8": b"".join([*lines[:9], b"\xff\xfe\n", *lines[9:]]),
        "every line edited": pristine.replace(b'"justification":"', b'"justification":"x'),
    }
    for name, content in variants.items():
        out.write_bytes(content)
        _split(monkeypatch, on=False)
        one = problems_of(db, out)
        _split(monkeypatch, on=True)
        assert problems_of(db, out) == one, name
        assert (one == []) == (name == "pristine"), name


def test_when_the_processes_fail_this_one_reads_on(
    exported: tuple[Path | str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = exported
    out.write_bytes(out.read_bytes().replace(b'"reviewer":"alice"', b'"reviewer":"alicf"'))
    _split(monkeypatch, on=False)
    one = problems_of(db, out)
    assert len(one) > 2
    real = chain_split.in_order
    handed: list[int] = []

    def failing(work: Any, calls: Any, workers: int) -> Generator[Any, None, None]:
        results = real(work, calls, workers)
        try:
            yield next(results)  # the first range, then the processes are gone
            handed.append(len(calls))
            raise RuntimeError("a process was killed")
        finally:
            results.close()

    _split(monkeypatch, on=True)
    monkeypatch.setattr(chain_split, "in_order", failing)
    assert problems_of(db, out) == one
    assert len(handed) == 1
    assert handed[0] > 2  # several ranges were handed out; one came back


@pytest.mark.parametrize("fmt", ["csv", "md"])
def test_a_rendering_in_ranges_matches_or_leaves_the_words_to_one_process(
    db_target: Path | str,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    """Ranges of 2 events and the head, rendered in two processes, hashed, compared."""
    from store import Store, audit_ranges
    from store.export import Manifest, file_sha256, manifest_path

    with Store(db_target, now=clock) as store:
        decide_some(store, clock, 10)
    out = tmp_path / f"log.{fmt}"
    assert export(db_target, out).returncode == 0
    monkeypatch.setattr(audit_ranges, "SPLIT_FROM", 0)
    monkeypatch.setattr(audit_ranges, "RANGE", 2)
    real = audit_ranges.rendered_in_ranges
    matched: list[int | None] = []

    def watched(*args: Any) -> int | None:
        matched.append(real(*args))
        return matched[-1]

    monkeypatch.setattr(audit_ranges, "rendered_in_ranges", watched)
    pristine = out.read_bytes().decode("utf-8")  # its line ends as written
    cut = pristine.index("alice")
    variants = {
        "pristine": pristine,
        "a cell edited": pristine[:cut] + "alicf" + pristine[cut + 5 :],
        "a line added at the end": pristine + "more\n",
        "the last line cut short": pristine[:-3],
        "the head edited": pristine.replace("s", "S", 1),
    }
    with Store(db_target, now=clock) as store:
        for name, text in variants.items():
            out.write_text(text, encoding="utf-8", newline="")
            # Re-sealed, as someone who edits the file would: only the rendering tells.
            manifest = replace(Manifest.read(manifest_path(out)), sha256=file_sha256(out))
            one = store.verify_export(manifest, out)
            matched.clear()
            assert store.verify_export(manifest, out, workers=2) == one, name
            assert matched == ([10] if name == "pristine" else [None]), name
            assert one.ok == (name == "pristine"), name
