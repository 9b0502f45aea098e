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


def resolve_db(option: str | None, configured: str | None = None) -> Path | str:
    """The database: `--db`, `$SIGNOFF_DB`, the config's `db`, else the data dir's file.

    The default file is `signoff.db` in the data dir. A `postgresql://` URL (team mode)
    stays a string; anything else is a file path.
    """
    for given in (option, os.environ.get("SIGNOFF_DB", ""), configured):
        if given is not None and given.strip():
            value = given.strip()
            if value.lower().startswith(("postgresql://", "postgres://")):
                return value
            return Path(value).expanduser()
    return data_dir() / "signoff.db"


def demo_db() -> Path:
    """The demo's own database, never the user's."""
    return data_dir() / "demo.db"
