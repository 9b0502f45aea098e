"""Input records for generative providers, and the prompt template that renders them.

Inputs are a JSONL or CSV file (one record per line/row, `id` required) or a folder of
text files (the file name is the id, the text is the field `text`). A template is a
text file with `{field}` placeholders.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from providers.adapter import Job
from providers.base import DataLimit
from providers.files import read_raw
from providers.records import RecordError, check_text, parse_id, parse_limits, parse_time

TEXT_SUFFIXES: Final = (".txt", ".md", ".eml")


def read_jobs(path: Path, *, fresh_days: float | None, now: dt.datetime) -> Iterator[Job | str]:
    """One `Job` per good record; a `str` (file:line: why) per bad one."""
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if p.suffix.lower() in TEXT_SUFFIXES):
            try:
                text = check_text(file.read_text(encoding="utf-8"), "text")
            except (OSError, UnicodeDecodeError, RecordError) as error:
                yield f"{file}: {error}"
                continue
            yield Job(file.stem, str(file), {"id": file.stem, "text": text})
        return
    if not path.is_file():
        yield f"{path}: no such file or folder"
        return
    # The same reader and rules as `signoff import` (files.read_raw): strict UTF-8, no
    # duplicate keys, capped lines; any field may appear, since the template uses them.
    fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    with path.open("rb") as stream:
        for line, record in read_raw(stream, fmt, columns=None):
            origin = f"{path.name}:{line}"
            if isinstance(record, str):
                yield f"{origin}: {record}"
                continue
            try:
                yield _job(origin, record, fresh_days, now)
            except RecordError as error:
                yield f"{origin}: {error}"


def _job(origin: str, record: dict[str, Any], fresh_days: float | None, now: dt.datetime) -> Job:
    external_id = parse_id(record.get("id"))
    limits = list(parse_limits(record.get("data_limits")))
    created = parse_time(record.get("created_at"))
    if fresh_days is not None and created is not None:
        days = (now - created).total_seconds() / 86400
        if days > fresh_days:
            limits.append(DataLimit(
                "stale", f"record is {days:.0f} days old (freshness window {fresh_days:g} days)",
                "warn" if days < 2 * fresh_days else "high",
            ))  # fmt: skip
    return Job(external_id, origin, record, tuple(limits), created)


class Template:
    """A prompt with `{field}` placeholders; missing fields render empty and are reported."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.fields = [name for _, name, _, _ in string.Formatter().parse(text) if name]

    @classmethod
    def load(cls, path: Path) -> Template:
        """Read a template file."""
        return cls(path.read_text(encoding="utf-8"))

    def render(self, record: dict[str, Any]) -> tuple[str, list[str]]:
        """The prompt, and the names of fields the record lacked."""
        missing = [name for name in self.fields if record.get(name) in (None, "")]

        class Lenient(dict[str, Any]):
            def __missing__(self, key: str) -> str:
                return ""

        values = Lenient({k: ("" if v is None else v) for k, v in record.items()})
        return string.Formatter().vformat(self.text, (), values), missing


def fit(prompt: str, max_chars: int) -> tuple[str, DataLimit | None]:
    """Cut a prompt to `max_chars`, with a limit saying how much was not sent."""
    if max_chars <= 0 or len(prompt) <= max_chars:
        return prompt, None
    share = 1 - max_chars / len(prompt)
    limit = DataLimit(
        "truncated", f"input truncated: {share:.0%} of the record was not sent",
        "high" if share >= 0.25 else "warn",
    )  # fmt: skip
    return prompt[:max_chars], limit
