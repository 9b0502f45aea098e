"""What signoff does with an error nobody expected: a private crash file, one line.

A traceback with local variables would print drafts, inputs, justifications and
secrets into the reviewer's terminal (and into whatever records it). The details go
to a file only the user can read; the terminal gets one line naming that file.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import traceback
from pathlib import Path

from tui.paths import data_dir
from tui.safe import visible


def crash_dir() -> Path:
    """Where crash files go (e.g. ~/.local/share/signoff/crashes)."""
    return data_dir() / "crashes"


def write_crash_file(error: BaseException, context: str) -> Path | None:
    """Write the error's traceback (no local variables) to a new 0600 file.

    Args:
        error: The unexpected exception.
        context: What was running, e.g. "review app" or "signoff export".

    Returns:
        The file's path, or None when even that could not be written.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("signoff")
    except PackageNotFoundError:
        ours = "unknown"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"signoff {ours} crashed in {context} at {stamp}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"command: {' '.join(visible(a) for a in sys.argv[1:])}",
        "",
        *traceback.format_exception(error),
    ]
    try:
        folder = crash_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"crash-{stamp}-{os.getpid()}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write("\n".join(line.rstrip("\n") for line in lines) + "\n")
    except OSError:
        return None
    return path


def crash_line(error: BaseException, path: Path | None, *, released: bool) -> str:
    """The one line the terminal gets: the error's type (never its text) and the file."""
    what = f"stopped on an unexpected error ({type(error).__name__})"
    claims = "; your claims were released" if released else ""
    where = f"; details in {path}" if path else "; the crash file could not be written"
    return visible(what + claims + where)
