"""Read drafts from JSONL and CSV files, one result per record, with line numbers.

A bad record becomes a `Rejected` result and reading goes on; nothing here stops
at the first error, so the caller can store every good record.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from providers.base import Draft, DraftFields, Stakes
from providers.records import (
    FIELDS,
    DuplicateKeyError,
    RecordError,
    did_you_mean,
    no_duplicate_keys,
    record_fields,
)

MAX_LINE_BYTES: Final = 8 * 1024 * 1024
"""A JSONL line longer than this is refused unread (drafts are capped far lower)."""

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes consumed so far."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """A record that became a draft."""

    line: int
    """1-based line where the record starts."""
    draft: Draft


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that was refused, and why."""

    line: int
    """1-based line where the record starts."""
    reason: str


ReadResult = Parsed | Rejected


class UnknownFormatError(ValueError):
    """The file's extension names no format signoff reads."""


def format_for(path: str) -> str:
    """Return `"jsonl"` or `"csv"` for a path (`-` is JSONL on stdin).

    Raises:
        UnknownFormatError: For any other extension.
    """
    if path == "-":
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        raise UnknownFormatError(
            f"{path}: .json is not read; write one JSON object per line and name it .jsonl"
        )
    raise UnknownFormatError(
        f"{path}: cannot tell the format from {suffix or 'no extension'!r}; "
        "use .jsonl (one JSON object per line) or .csv"
    )


def read_records(
    stream: IO[bytes],
    fmt: str,
    *,
    default_source: str,
    default_stakes: Stakes = "medium",
    on_progress: ProgressCallback | None = None,
) -> Iterator[ReadResult]:
    """Yield one `Parsed` or `Rejected` per record of a binary stream in format `fmt`."""
    for result in read_fields(
        stream, fmt, default_source=default_source, default_stakes=default_stakes,
        on_progress=on_progress,
    ):  # fmt: skip
        yield result if isinstance(result, Rejected) else Parsed(result[0], Draft(*result[1]))


FieldsResult = tuple[int, DraftFields] | Rejected
"""(1-based line where the record starts, its draft's fields), or why it was refused."""


def read_fields(
    stream: IO[bytes],
    fmt: str,
    *,
    default_source: str,
    default_stakes: Stakes = "medium",
    on_progress: ProgressCallback | None = None,
) -> Iterator[FieldsResult]:
    """`read_records` giving each good record's fields (`record_fields`), not a `Draft`."""
    for line, raw in read_raw(stream, fmt, columns=FIELDS, on_progress=on_progress):
        if isinstance(raw, str):
            yield Rejected(line, raw)
            continue
        try:
            yield line, record_fields(raw, default_source=default_source,
                                      default_stakes=default_stakes)  # fmt: skip
        except RecordError as error:
            yield Rejected(line, str(error))


RawResult = tuple[int, dict[str, Any] | str]
"""(1-based line where the record starts, the record's fields or why it was refused)."""


def read_raw(
    stream: IO[bytes],
    fmt: str,
    *,
    columns: tuple[str, ...] | None,
    on_progress: ProgressCallback | None = None,
) -> Iterator[RawResult]:
    """The records of a JSONL or CSV stream as plain dicts, under one set of rules.

    The rules every reader of records shares (drafts to import, inputs to a model):
    strict UTF-8, one JSON object per line, no key given twice, a cap on line length,
    typed CSV cells (`confidence`, `data_limits`, `meta`). `columns` is the set of
    fields a CSV header may name (None: any field, as for a model's inputs).
    """
    counted = _CountingReader(stream, on_progress)
    if fmt == "csv":
        yield from _read_csv(counted, columns)
    else:
        yield from _read_jsonl(counted)


def _read_jsonl(stream: _CountingReader) -> Iterator[RawResult]:
    line_no = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            _skip_rest_of_line(stream)
            yield line_no, f"line is longer than {MAX_LINE_BYTES // 2**20} MB"
            continue
        if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte-order mark from Windows editors
        if not raw.strip():
            continue
        try:
            yield line_no, _json_object(raw)
        except RecordError as error:
            yield line_no, str(error)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"not valid UTF-8 (byte {error.start + 1} of the line)") from None
    try:
        value = _DECODER.decode(text)
    except DuplicateKeyError as error:
        raise RecordError(f"{error} in one object") from None
    except RecursionError:
        raise RecordError("nesting too deep") from None
    except json.JSONDecodeError as error:
        raise RecordError(f"invalid JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(value, dict):
        raise RecordError('each line must be a JSON object like {"id": ..., "draft": ...}')
    return value


# One decoder for the whole file: json.loads with a hook builds a new one per line.
# NaN is decoded, then refused by the field that holds it, which can say why.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=no_duplicate_keys)


def _skip_rest_of_line(stream: _CountingReader) -> None:
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return


def _read_csv(stream: _CountingReader, columns: tuple[str, ...] | None) -> Iterator[RawResult]:
    text = io.TextIOWrapper(
        io.BufferedReader(stream), encoding="utf-8-sig", newline="", errors="strict"
    )
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (UnicodeDecodeError, csv.Error) as error:
        yield 1, f"unreadable header: {error}"
        return
    names = [name.strip() for name in header]
    if columns is not None:
        names = [name.lower() for name in names]
    unknown = [name for name in names if columns is not None and name not in columns]
    if unknown or "id" not in names:
        # A bad header makes every row wrong in the same way; say it once.
        reason = (
            f"unknown column {unknown[0]!r}{did_you_mean(unknown[0], columns or ())}"
            if unknown
            else "the header has no 'id' column"
        )
        yield 1, reason + "; nothing in this file was read"
        return
    next_line = reader.line_num + 1
    while True:
        start = next_line
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            yield start, f"not valid UTF-8 ({error.reason}); the rest of the file was skipped"
            return
        except csv.Error as error:
            yield start, f"bad CSV: {error}"
            if reader.line_num < start:
                return
            next_line = reader.line_num + 1
            continue
        next_line = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) > len(names):
                raise RecordError(f"row has {len(row)} cells but the header has {len(names)}")
            yield start, _csv_record(dict(zip(names, row, strict=False)))
        except RecordError as error:
            yield start, str(error)


def _csv_record(cells: dict[str, str]) -> dict[str, Any]:
    """Turn CSV cells into the typed values a JSONL record would carry."""
    record: dict[str, Any] = {key: value for key, value in cells.items() if value != ""}
    if "confidence" in record:
        cell = record["confidence"].strip()
        try:
            record["confidence"] = float(cell)
        except ValueError:
            record["confidence"] = cell  # parse_record names the bad value
    if "data_limits" in record:
        cell = record["data_limits"].strip()
        if cell.startswith(("[", "{")):
            record["data_limits"] = _json_cell(cell, "data_limits")
        else:
            record["data_limits"] = [part.strip() for part in cell.split(";") if part.strip()]
    if "meta" in record:
        record["meta"] = _json_cell(record["meta"], "meta")
    return record


def _json_cell(cell: str, name: str) -> Any:
    try:
        return _DECODER.decode(cell)
    except (ValueError, RecursionError):
        raise RecordError(f"{name} cell is not valid JSON") from None


class _CountingReader(io.RawIOBase):
    """A binary reader that reports how many bytes have been consumed."""

    def __init__(self, inner: IO[bytes], on_progress: ProgressCallback | None) -> None:
        super().__init__()
        self._inner = inner
        self._on_progress = on_progress
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self._count(len(data))
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        data = self._inner.readline(-1 if size is None else size)
        self._count(len(data))
        return data

    def _count(self, size: int) -> None:
        self.consumed += size
        if self._on_progress is not None and size:
            self._on_progress(self.consumed)
