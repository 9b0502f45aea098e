"""Where signoff keeps its files. Nothing is created here: callers create on use."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "signoff"


def data_dir() -> Path:
    """The platform's per-user data folder for signoff (e.g. ~/.local/share/signoff)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    """The default config file (e.g. ~/.config/signoff/config.toml)."""
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def resolve_db(option: Path | None) -> Path:
    """The database to use: `--db`, else `$SIGNOFF_DB`, else `signoff.db` in the data dir."""
    if option is not None:
        return option.expanduser()
    env = os.environ.get("SIGNOFF_DB", "").strip()
    if env:
        return Path(env).expanduser()
    return data_dir() / "signoff.db"


def demo_db() -> Path:
    """The demo's own database, never the user's."""
    return data_dir() / "demo.db"
