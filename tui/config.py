"""The user's settings: a TOML file in the platform config dir, or `--config FILE`.

The file is validated by typed models (`tui.config_file.ConfigFile`, pydantic), which
are also the config's JSON Schema (`signoff config --schema`). Errors name the file, the table and
the key, with a "did you mean" for typos.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.oversight import OversightPolicy
from store.policy import JustificationPolicy
from tui.autocheckpoint import CheckpointPlan


class ConfigError(ValueError):
    """The config file is unreadable or holds a bad value; the message says where."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything signoff reads from the config file, with defaults."""

    path: Path | None = None
    """The file the settings came from; None when no file exists."""
    reviewer: str | None = None
    """Reviewer name when neither `--reviewer` nor `$SIGNOFF_REVIEWER` is given."""
    leads: frozenset[str] = frozenset()
    """Who resolves escalations on a SQLite queue (team mode: the `--lead` logins)."""
    db: str | None = None
    """The database when neither `--db` nor `$SIGNOFF_DB` names one: a file (made
    absolute against the config file's folder) or a `postgresql://` URL."""
    keymap: str = "default"
    """Name of the keymap the review app uses."""
    lease: dt.timedelta = dt.timedelta(minutes=10)
    """How long a claim lasts without activity."""
    policy: JustificationPolicy = field(default_factory=JustificationPolicy)
    """Justification rules; the store enforces them."""
    keys: dict[str, Any] = field(default_factory=dict)
    """Single-id key overrides (`[keys]`), checked by the keymap loader."""
    reason_codes: list[str] | None = None
    """Reason codes offered for override and reject (None: the built-in list)."""
    guidelines: dict[str, Path] = field(default_factory=dict)
    """Source → Markdown file shown beside its items (relative to the config file)."""
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`[providers.NAME]` tables, checked by each provider's options when used."""
    oversight: OversightPolicy = field(default_factory=OversightPolicy)
    """Catch trials, rubber-stamp friction, commit-first and the policy table (`[oversight]`)."""
    use_cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Source → its AI use card's fields (`[use_cards.SOURCE]`; see `store.cards`)."""
    checkpoints: CheckpointPlan | None = None
    """Signed checkpoints every N events (`[checkpoints]`; see `tui.autocheckpoint`)."""
    advocate_provider: str | None = None
    """The `[providers.NAME]` whose model is the devil's advocate (`[advocate] provider`)."""
    retention_days: int = 183
    """Events younger than this are never archived (`[retention] minimum_days`)."""


def load_settings(path: Path | None, *, default: Path) -> Settings:
    """Read settings from `path` (must exist) or else `default` (may be absent)."""
    target = path or default
    if not target.exists():
        if path is not None:
            raise ConfigError(f"{target}: config file not found")
        return Settings()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{target}: cannot read config ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{target}: not valid TOML ({error})") from None
    return _settings(target, data)


def _settings(path: Path, data: dict[str, Any]) -> Settings:
    # The typed models (pydantic) load only when there is a file to check: a command run
    # without a config file does not pay for them.
    from tui.config_file import settings_from

    return settings_from(path, data)


def schema() -> dict[str, Any]:
    """JSON Schema of the config file, each provider type's own keys included."""
    from tui.config_file import schema as file_schema

    return file_schema()
