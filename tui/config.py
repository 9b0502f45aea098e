"""The user's settings: a TOML file in the platform config dir, or `--config FILE`.

Errors name the file, the table and the key, with a "did you mean" for typos.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from providers.records import did_you_mean
from store.policy import DEFAULT_BOILERPLATE, FLOOR_CHARS, JustificationPolicy, normalise


class ConfigError(ValueError):
    """The config file is unreadable or holds a bad value; the message says where."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything signoff reads from the config file, with defaults."""

    path: Path | None = None
    """The file the settings came from; None when no file exists."""
    reviewer: str | None = None
    """Reviewer name when neither `--reviewer` nor `$SIGNOFF_REVIEWER` is given."""
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


_TOP = (
    "reviewer", "keymap", "lease_minutes", "reason_codes", "policy", "providers", "keys",
    "guidelines",
)  # fmt: skip
_POLICY = ("min_chars", "min_words", "recent_window", "extra_boilerplate")
_REASON = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")


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
    def bad(where: str, message: str) -> ConfigError:
        return ConfigError(f"{path}: {where}: {message}")

    _unknown_keys(path, "top level", data, _TOP)
    reviewer = data.get("reviewer")
    if reviewer is not None and (not isinstance(reviewer, str) or not reviewer.strip()):
        raise bad("reviewer", "must be a non-empty string")
    keymap = data.get("keymap", "default")
    if not isinstance(keymap, str):
        raise bad("keymap", 'must be a string such as "vim"')
    lease_minutes = data.get("lease_minutes", 10)
    if isinstance(lease_minutes, bool) or not isinstance(lease_minutes, (int, float)):
        raise bad("lease_minutes", "must be a number of minutes")
    if not 1 <= lease_minutes <= 24 * 60:
        raise bad("lease_minutes", "must be between 1 and 1440")
    policy_table = data.get("policy", {})
    if not isinstance(policy_table, dict):
        raise bad("policy", "must be a table: [policy]")
    _unknown_keys(path, "[policy]", policy_table, _POLICY)
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise bad("keys", "must be a table: [keys]")
    codes = data.get("reason_codes")
    if codes is not None and (
        not isinstance(codes, list)
        or not codes
        or not all(isinstance(c, str) and _REASON.match(c) for c in codes)
    ):
        raise bad("reason_codes", 'must be a list of short tags like "factual-error"')
    providers = data.get("providers", {})
    if not isinstance(providers, dict) or not all(isinstance(t, dict) for t in providers.values()):
        raise bad("providers", "must be tables: [providers.NAME]")
    guidelines = data.get("guidelines", {})
    if not isinstance(guidelines, dict) or not all(isinstance(v, str) for v in guidelines.values()):
        raise bad("guidelines", 'must be a table of source = "path/to/file.md"')
    return Settings(
        path=path,
        reviewer=reviewer.strip() if isinstance(reviewer, str) else None,
        keymap=keymap,
        lease=dt.timedelta(minutes=lease_minutes),
        policy=_policy(policy_table, bad),
        keys=keys,
        reason_codes=codes,
        providers=providers,
        guidelines={
            str(source): (path.parent / file).expanduser() for source, file in guidelines.items()
        },
    )


def _policy(table: dict[str, Any], bad: Any) -> JustificationPolicy:
    defaults = JustificationPolicy()
    values: dict[str, int] = {}
    floors = {"min_chars": FLOOR_CHARS, "min_words": 1, "recent_window": 0}
    for key, floor in floors.items():
        value = table.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"[policy] {key}", "must be a whole number")
        if value < floor:
            raise bad(f"[policy] {key}", f"must be at least {floor}")
        values[key] = value
    extra = table.get("extra_boilerplate", [])
    if not isinstance(extra, list) or not all(isinstance(p, str) for p in extra):
        raise bad("[policy] extra_boilerplate", "must be a list of strings")
    phrases = DEFAULT_BOILERPLATE | {normalise(p) for p in extra if normalise(p)}
    return JustificationPolicy(boilerplate=frozenset(phrases), **values)


def _unknown_keys(path: Path, where: str, table: dict[str, Any], known: tuple[str, ...]) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: {where}: unknown key {key!r}{did_you_mean(key, known)}")
