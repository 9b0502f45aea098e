"""What the app remembers between runs (the theme), in signoff's own data folder.

Not settings: nothing here changes what is recorded. A missing or unreadable file is
the same as a first run; a failed write only means the choice is not remembered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tui.paths import data_dir


def state_file() -> Path:
    """Where the remembered choices live."""
    return data_dir() / "state.json"


def remembered_theme() -> str | None:
    """The theme chosen last time, if any."""
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if isinstance(theme, str) else None


def remember_theme(name: str) -> None:
    """Keep `name` for the next start (written whole, then moved into place)."""
    target = state_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps({"theme": name}), encoding="utf-8")
        temp.replace(target)
    except OSError:
        return  # not remembered; the session goes on
