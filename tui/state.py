"""What signoff remembers between runs: the theme, and each ledger's newest checkpoint.

Kept in signoff's own data folder.

Not settings: nothing here changes what is recorded. A missing or unreadable file is
the same as a first run; a failed write only means the choice is not remembered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.paths import data_dir

if TYPE_CHECKING:
    from store.checkpoint import Checkpoint


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


def remembered_checkpoints(data: dict[str, Any] | None = None) -> dict[str, Checkpoint]:
    """Origin → the newest checkpoint verified for each ledger (its register too)."""
    found = (_read() if data is None else data).get("checkpoints")
    if not isinstance(found, dict):
        return {}
    from store.checkpoint import Checkpoint  # with hashlib: only when there are some

    kept = {}
    for origin, value in found.items():
        if not isinstance(value, list) or len(value) not in (2, 4):
            continue
        if not all(str(n).isdigit() for n in value[::2]):
            continue
        register = (int(value[2]), str(value[3])) if len(value) == 4 else None
        kept[origin] = Checkpoint(origin, int(value[0]), str(value[1]), register)
    return kept


def remember_checkpoint(checkpoint: Checkpoint) -> None:
    """Keep a verified checkpoint, unless a longer one of that ledger is kept already."""
    data = _read()
    kept = remembered_checkpoints(data)
    known = kept.get(checkpoint.origin)
    if known is not None and known.size >= checkpoint.size:
        return
    kept[checkpoint.origin] = checkpoint

    def row(point: Checkpoint) -> list[int | str]:
        return [point.size, point.head, *(point.register or ())]

    _write({**data, "checkpoints": {k: row(v) for k, v in kept.items()}})
