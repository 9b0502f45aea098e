"""Named keymaps (TOML files in this folder) and their loader. Textual-free.

A keymap file looks like::

    description = "vi-style movement"
    extends = "default"          # optional
    [keys]
    "queue.down" = "j,down"      # comma-separated, or a list: ["j", "down"]
    "item.escalate" = []         # unbound

Keys use Textual's names (`ctrl+s`, `escape`, `question_mark`); single characters
are accepted and normalised the way Textual does (`?` → `question_mark`).
"""

from __future__ import annotations

import difflib
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keymaps.actions import ACTIONS, SCOPES

__all__ = [
    "ACTIONS",
    "SCOPES",
    "Keymap",
    "KeymapError",
    "available",
    "key_character",
    "load_keymap",
    "normalise_key",
]

_REPLACEMENTS = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}
_MAX_DEPTH = 8
# Textual key names: `a`, `G`, `f1`, `ctrl+shift+x`, `question_mark`, `pagedown`.
_KEY_NAME = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")


class KeymapError(ValueError):
    """A keymap or key override is invalid; the message names the file, id and key."""


@dataclass(frozen=True, slots=True)
class Keymap:
    """A resolved keymap: every action id with its keys (possibly none)."""

    name: str
    """The keymap's name, e.g. `vim`."""
    description: str
    """One line shown by `signoff keys`."""
    keys: Mapping[str, tuple[str, ...]]
    """Binding id → normalised Textual key names, first is the one shown in the footer."""

    def for_textual(self) -> dict[str, str]:
        """The mapping `App.set_keymap` takes: id → comma-separated keys (bound ids only)."""
        return {bid: ",".join(keys) for bid, keys in self.keys.items() if keys}


_FOLDER = Path(__file__).parent
"""The bundled keymaps, installed as plain files (`importlib.resources`, which also reads
them from a zip no signoff install uses, cost ~1.5 ms of the app's start)."""


def available() -> list[str]:
    """Names of the bundled keymaps."""
    return sorted(p.name[:-5] for p in _FOLDER.iterdir() if p.name.endswith(".toml"))


def load_keymap(
    name: str = "default", overrides: Mapping[str, Any] | None = None, *, origin: str = "config"
) -> Keymap:
    """Load a bundled keymap, apply `extends`, then the user's single-id `overrides`.

    Args:
        name: A bundled keymap name (see `available()`).
        overrides: The config file's `[keys]` table.
        origin: Where the overrides came from, for error messages (the config path).

    Raises:
        KeymapError: Unknown keymap or id (with a "did you mean"), a malformed key, or
            two actions on one key in one scope.
    """
    data = _read(name)
    keys = _resolve(name, data, depth=0)
    if overrides:
        keys.update(_keys_table(overrides, f"{origin}: [keys]"))
    where = f"keymap {name!r}" + (f" with {origin} [keys]" if overrides else "")
    for binding_id, why in _NEEDED.items():
        if not keys[binding_id]:
            raise KeymapError(f"{where}: {binding_id} needs a key: {why}")
    _check_clashes(keys, where)
    return Keymap(name=name, description=str(data.get("description", "")), keys=keys)


_NEEDED = {
    "dialog.submit": "it saves an edited draft, where Enter makes a new line",
    "dialog.cancel": "it is the way out of every dialog and panel",
}
"""Ids a keymap may move but not unbind: without them a dialog could not be finished or left."""


def _read(name: str) -> dict[str, Any]:
    names = available()
    if name not in names:
        raise KeymapError(
            f"unknown keymap {name!r}{_suggest(name, names)}; choose one of {', '.join(names)}"
        )
    text = (_FOLDER / f"{name}.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise KeymapError(f"{name}.toml: not valid TOML ({error})") from None
    for key in data:
        if key not in ("description", "extends", "keys"):
            raise KeymapError(
                f"{name}.toml: unknown key {key!r}"
                f"{_suggest(key, ['description', 'extends', 'keys'])}"
            )
    return data


def _resolve(name: str, data: dict[str, Any], depth: int) -> dict[str, tuple[str, ...]]:
    if depth > _MAX_DEPTH:
        raise KeymapError(f"{name}.toml: 'extends' goes round in a circle")
    parent = data.get("extends")
    if parent is None:
        keys: dict[str, tuple[str, ...]] = dict.fromkeys(ACTIONS, ())
    else:
        if not isinstance(parent, str):
            raise KeymapError(f"{name}.toml: extends must be a keymap name")
        keys = _resolve(parent, _read(parent), depth + 1)
    table = data.get("keys", {})
    if not isinstance(table, dict):
        raise KeymapError(f"{name}.toml: [keys] must be a table")
    keys.update(_keys_table(table, f"{name}.toml: [keys]"))
    return keys


def _keys_table(table: Mapping[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    result: dict[str, tuple[str, ...]] = {}
    for binding_id, value in table.items():
        if binding_id not in ACTIONS:
            raise KeymapError(
                f"{where}: unknown binding id {binding_id!r}{_suggest(binding_id, list(ACTIONS))}"
            )
        if isinstance(value, str):
            parts = value.split(",") if value.strip() else []
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            parts = list(value)
        else:
            raise KeymapError(f"{where}: {binding_id} must be a key string or a list of keys")
        keys = []
        for part in parts:
            key = normalise_key(part)
            if not _KEY_NAME.match(key):
                raise KeymapError(f"{where}: {binding_id} has a malformed key {part!r}")
            if binding_id.startswith("dialog.") and _is_printable(key):
                raise KeymapError(
                    f"{where}: {binding_id} = {part!r} would swallow that character while "
                    "you type a justification; use ctrl+…, escape or a function key"
                )
            keys.append(key)
        result[binding_id] = tuple(dict.fromkeys(keys))
    return result


def normalise_key(key: str) -> str:
    """Textual's long name for a key: `?` → `question_mark`, `/` → `slash`."""
    key = key.strip()
    if len(key) != 1 or key.isalnum():
        return key
    try:
        name = unicodedata.name(key).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return "tab" if key == "\t" else key
    return _REPLACEMENTS.get(name, name)


_CHARACTERS = {
    "slash": "/", "backslash": "\\", "at": "@", "minus": "-", "plus": "+", "underscore": "_",
}  # fmt: skip
"""Textual's short names for characters whose Unicode names `normalise_key` shortens."""


def key_character(key: str) -> str | None:
    """The character a key name types (`question_mark` → `?`, `G` → `G`), or None.

    None for keys that type nothing: `ctrl+s`, `escape`, `f1`, `pagedown`.
    """
    if len(key) == 1:
        return key if key.isprintable() else None
    if "+" in key:
        return None  # ctrl+…, alt+…, shift+…
    if key == "space":
        return " "
    if key in _CHARACTERS:
        return _CHARACTERS[key]
    # `normalise_key` folded both spaces and hyphens into "_" (LESS-THAN SIGN →
    # less_than_sign): try each way back; names have a handful of parts at most.
    parts = key.split("_")
    for joins in itertools.product(" -", repeat=min(len(parts) - 1, 6)):
        name = parts[0] + "".join(j + p for j, p in zip(joins, parts[1:], strict=False))
        try:
            char = unicodedata.lookup(name)
        except KeyError:
            continue
        return char if char.isprintable() else None
    return None


def _is_printable(key: str) -> bool:
    return key_character(key) is not None


def _check_clashes(keys: Mapping[str, tuple[str, ...]], where: str) -> None:
    by_scope: dict[tuple[str, str], str] = {}
    app_keys = {key: bid for bid, ks in keys.items() if bid.startswith("app.") for key in ks}
    for binding_id, bound in keys.items():
        scope = binding_id.split(".", 1)[0]
        for key in bound:
            other = by_scope.get((scope, key))
            if other is None and scope != "app":
                other = app_keys.get(key)
            if other is not None and other != binding_id:
                raise KeymapError(
                    f"{where}: key {key!r} is bound to both {other} and {binding_id}; "
                    "give one of them another key"
                )
            by_scope[(scope, key)] = binding_id


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
