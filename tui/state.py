"""What signoff remembers between runs: the theme, and each ledger's newest checkpoint.

Kept in signoff's own data folder.

Not settings: nothing here changes what is recorded. A missing or unreadable file is
the same as a first run; a failed write only means the choice is not remembered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tui.paths import data_dir


def state_file() -> Path:
    """Where the remembered choices live."""
    return data_dir() / "state.json"


def _read() -> dict[str, Any]:
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(data: dict[str, Any]) -> None:
    target = state_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        temp.replace(target)  # written whole, then moved into place
    except OSError:
        return  # not remembered; the session goes on


def remembered_theme() -> str | None:
    """The theme chosen last time, if any."""
    theme = _read().get("theme")
    return theme if isinstance(theme, str) else None


def remember_theme(name: str) -> None:
    """Keep `name` for the next start."""
    _write({**_read(), "theme": name})


def remembered_checkpoints(data: dict[str, Any] | None = None) -> dict[str, tuple[int, str]]:
    """Origin → (size, head) of the newest checkpoint verified for each ledger."""
    found = (_read() if data is None else data).get("checkpoints")
    if not isinstance(found, dict):
        return {}
    return {
        origin: (int(value[0]), str(value[1]))
        for origin, value in found.items()
        if isinstance(value, list) and len(value) == 2 and str(value[0]).isdigit()
    }


def remember_checkpoint(origin: str, size: int, head: str) -> None:
    """Keep a verified checkpoint, unless a longer one of that ledger is kept already."""
    data = _read()
    kept = remembered_checkpoints(data)
    if origin in kept and kept[origin][0] >= size:
        return
    kept[origin] = (size, head)
    _write({**data, "checkpoints": {k: list(v) for k, v in kept.items()}})
