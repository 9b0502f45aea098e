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
from store.oversight import BANDS, STAKES, FrictionPolicy, OversightPolicy, Rule
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
    oversight: OversightPolicy = field(default_factory=OversightPolicy)
    """Catch trials, rubber-stamp friction, commit-first and the policy table (`[oversight]`)."""


_TOP = (
    "reviewer", "keymap", "lease_minutes", "reason_codes", "policy", "providers", "keys",
    "guidelines", "oversight",
)  # fmt: skip
_OVERSIGHT = ("catch_rate", "commit_first_sources", "friction", "rules")
_FRICTION = ("enabled", "items", "min_chars", "words_per_minute", "streak", "similarity")
_RULE = ("stakes", "confidence", "min_chars", "commit_first", "second_reviewer")
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
        oversight=_oversight(path, data.get("oversight", {}), bad),
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


def _oversight(path: Path, table: Any, bad: Any) -> OversightPolicy:
    if not isinstance(table, dict):
        raise bad("oversight", "must be a table: [oversight]")
    _unknown_keys(path, "[oversight]", table, _OVERSIGHT)
    defaults = OversightPolicy()
    rate = table.get("catch_rate", defaults.catch_rate)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 0.5:
        raise bad("[oversight] catch_rate", "must be a share between 0 and 0.5, e.g. 0.05")
    sources = table.get("commit_first_sources", [])
    if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
        raise bad("[oversight] commit_first_sources", 'must be a list of sources like ["risk"]')
    friction_table = table.get("friction", {})
    if not isinstance(friction_table, dict):
        raise bad("[oversight.friction]", "must be a table")
    _unknown_keys(path, "[oversight.friction]", friction_table, _FRICTION)
    rules = defaults.rules
    if "rules" in table:
        raw = table["rules"]
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise bad("[[oversight.rules]]", "must be an array of tables: [[oversight.rules]]")
        rules = tuple(_rule(path, n, r, bad) for n, r in enumerate(raw, 1))
    return OversightPolicy(
        rules=rules,
        catch_rate=float(rate),
        commit_first_sources=frozenset(sources),
        friction=_friction(friction_table, bad),
    )


def _friction(table: dict[str, Any], bad: Any) -> FrictionPolicy:
    base = FrictionPolicy()
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise bad("[oversight.friction] enabled", "must be true or false")
    values: dict[str, Any] = {"enabled": enabled}
    for key, low, high in (("items", 1, 100), ("min_chars", FLOOR_CHARS, 2000),
                           ("words_per_minute", 60, 2000), ("streak", 2, 1000)):  # fmt: skip
        value = table.get(key, getattr(base, key))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise bad(f"[oversight.friction] {key}", f"must be a whole number from {low} to {high}")
        values[key] = value
    similarity = table.get("similarity", base.similarity)
    if (
        isinstance(similarity, bool)
        or not isinstance(similarity, (int, float))
        or not (0.5 <= similarity <= 1)
    ):
        raise bad("[oversight.friction] similarity", "must be between 0.5 and 1, e.g. 0.8")
    return FrictionPolicy(similarity=float(similarity), **values)


def _rule(path: Path, number: int, table: dict[str, Any], bad: Any) -> Rule:
    where = f"[[oversight.rules]] #{number}"
    _unknown_keys(path, where, table, _RULE)
    picked: dict[str, frozenset[str]] = {}
    for key, allowed in (("stakes", STAKES), ("confidence", BANDS)):
        value = table.get(key, "*")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad(f"{where} {key}", f'must be "*" or a list of {", ".join(allowed)}')
        if values == ["*"]:
            values = list(allowed)
        for v in values:
            if v not in allowed:
                raise bad(f"{where} {key}", f"{v!r} is not one of {', '.join(allowed)}"
                          + did_you_mean(v, allowed))  # fmt: skip
        picked[key] = frozenset(values)
    min_chars = table.get("min_chars")
    if min_chars is not None and (
        isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < FLOOR_CHARS
    ):
        raise bad(f"{where} min_chars", f"must be a whole number of at least {FLOOR_CHARS}")
    flags = {}
    for key in ("commit_first", "second_reviewer"):
        flag = table.get(key, False)
        if not isinstance(flag, bool):
            raise bad(f"{where} {key}", "must be true or false")
        flags[key] = flag
    return Rule(stakes=picked["stakes"], bands=picked["confidence"], min_chars=min_chars, **flags)


def _unknown_keys(path: Path, where: str, table: dict[str, Any], known: tuple[str, ...]) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: {where}: unknown key {key!r}{did_you_mean(key, known)}")
