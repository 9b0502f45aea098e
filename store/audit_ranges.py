"""An export compared with the ledger's rendering a range at a time, in several processes.

`verify --manifest` of a CSV or Markdown export must find the file byte for byte what
the ledger renders for its events (`store.audit`). Rendering is the Python part: ~4.5 s
for a million events' CSV, ~9 s for their Markdown. Processes of their own render the
head and ranges of the events, each read through its own connection, and hand back
each part's length and SHA-256 only; this process reads the file's next bytes and
hashes them. Each process reads the ledger as it is when it reads: should a part
differ, the caller renders and compares in one process, which names the line.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from store.chain_split import Split
    from store.export import ExportFilter, Manifest

SPLIT_FROM: Final = 200_000
"""Fewer events than this in the export, one process renders them."""
RANGE: Final = 20_000
"""Events a process renders at a time."""


def rendered_in_ranges(
    manifest: Manifest, file: Path, where: ExportFilter, split: Split
) -> int | None:
    """The events rendered if every part matched the file; None if one did not or failed."""
    from store.chain_split import in_order, open_reader

    first, last = manifest.first_seq, manifest.last_seq
    if (
        manifest.format not in ("csv", "md") or split.workers < 2 or first is None
        or last is None or manifest.events < SPLIT_FROM
    ):  # fmt: skip
        return None
    calls = [(f"{manifest.format}-head", where)] + [
        (manifest.format, replace(where, after_seq=after, through_seq=min(after + RANGE, last)))
        for after in range(first - 1, last, RANGE)
    ]
    results = in_order(_render, calls, split.workers, open_reader, (split.target,))
    count = 0
    try:
        with file.open("rb") as held:
            for size, digest, rendered in results:
                if hashlib.sha256(held.read(size)).hexdigest() != digest:
                    return None  # (a short read hashes otherwise too)
                count += rendered
            return None if held.read(1) else count
    except Exception:  # whatever stopped them, the caller compares in one process
        return None
    finally:
        results.close()


def _render(part: str, where: ExportFilter) -> tuple[int, str, int]:
    from store.chain_split import reader

    return reader().rendered(part, where)
