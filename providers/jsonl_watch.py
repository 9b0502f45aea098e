"""`jsonl`: drafts appended to a JSONL file (or the .jsonl files of a folder) elsewhere.

Each pull reads the complete lines added since the last one: the cursor is a byte
offset and line number per file, saved only after the lines before it are committed.
`signoff pull --watch` keeps following the files.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from providers.adapter import (
    Capabilities,
    ConfigPath,
    ListingProvider,
    Options,
    Page,
)
from providers.base import Draft, Stakes
from providers.files import Parsed, read_records

CHUNK_LINES = 2000
"""Lines per page: a crash loses at most one uncommitted page, which is read again."""


class JsonlOptions(Options):
    """`[providers.NAME]` keys for `type = "jsonl"`."""

    path: ConfigPath
    """A .jsonl file, or a folder whose .jsonl files are all followed."""
    source: str = ""
    """Queue source for the drafts [default: the provider's name]."""
    stakes: Stakes = "medium"
    """Stakes of records that name none."""


class JsonlProvider(ListingProvider):
    """Follows JSONL files that another system appends to."""

    type_name: ClassVar[str] = "jsonl"
    Options: ClassVar[type[Options]] = JsonlOptions
    capabilities: ClassVar[Capabilities] = Capabilities()

    def describe(self) -> str:
        """The followed path."""
        return str(self.options.path)

    def _files(self) -> list[Path]:
        path: Path = self.options.path
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.suffix.lower() in (".jsonl", ".ndjson"))
        return [path] if path.exists() else []

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """New complete lines of every file, `CHUNK_LINES` at a time."""
        done: dict[str, list[int]] = json.loads(cursor) if cursor else {}
        for file in self._files():
            offset, line = done.get(str(file), [0, 0])
            if file.stat().st_size < offset:
                offset, line = 0, 0  # the file was replaced or truncated: start again
            with file.open("rb") as stream:
                stream.seek(offset)
                while True:
                    chunk, used = _complete_lines(stream, CHUNK_LINES)
                    if not used:
                        break
                    drafts, rejected = self._parse(chunk, file, line)
                    offset += used
                    line += chunk.count(b"\n")
                    done[str(file)] = [offset, line]
                    yield Page(drafts, rejected, json.dumps(done, sort_keys=True), True)
        yield Page([], [], json.dumps(done, sort_keys=True) if done else cursor, False)

    def _parse(self, chunk: bytes, file: Path, first: int) -> tuple[list[Draft], list[str]]:
        drafts: list[Draft] = []
        rejected: list[str] = []
        stakes: Any = self.options.stakes
        for result in read_records(io.BytesIO(chunk), "jsonl", default_source=self.source,
                                   default_stakes=stakes):  # fmt: skip
            if isinstance(result, Parsed):
                drafts.append(result.draft)
            else:
                rejected.append(f"{file.name}:{first + result.line}: {result.reason}")
        return drafts, rejected


def _complete_lines(stream: Any, limit: int) -> tuple[bytes, int]:
    """Up to `limit` lines that end in a newline; a half-written last line waits."""
    lines = []
    used = 0
    for _ in range(limit):
        start = stream.tell()
        line = stream.readline()
        if not line.endswith(b"\n"):
            stream.seek(start)
            break
        lines.append(line)
        used += len(line)
    return b"".join(lines), used
