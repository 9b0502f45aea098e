"""Typed settings: pydantic validation with one-line errors that name table and key.

Shared by the config file (`tui.config`) and every provider's options, so both refuse
unknown keys with a "did you mean", values of the wrong type, and values outside a
fixed set, in the same words.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from providers.records import did_you_mean

STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)
"""Settings models: no unknown keys, no "5" for 5, docstrings become descriptions."""


class Strict(BaseModel):
    """Base class for a table of settings."""

    model_config = STRICT


Location = list[str | int]
"""A place inside the settings: keys and list indexes."""


def first_problem(
    error: ValidationError,
    where: Callable[[Location, bool], str],
    model: type[BaseModel],
) -> str:
    """One line for the most specific problem pydantic found.

    Args:
        error: What pydantic said.
        where: Names a location: `where(path, True)` the table (`[policy]`),
            `where(path, False)` the key (`[oversight.friction] streak`).
        model: The top model, for the keys and bounds allowed at a location.
    """
    problems = error.errors()
    # Of a union's several complaints, the one that got furthest in is the one meant;
    # a misspelt key explains the "missing" one it was meant to be, so it comes first.
    problem = max(problems, key=lambda p: (len(_path(p["loc"])), p["type"] == "extra_forbidden"))
    path = _path(problem["loc"])
    kind, given = problem["type"], problem.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = list(_table(model, path[:-1]).model_fields)
        return f"{where(path[:-1], True)}: unknown key {key!r}{did_you_mean(key, allowed)}"
    low, high = _bounds(model, path)
    messages: dict[str, str] = {
        "greater_than_equal": f"must be at least {low:g}" if low is not None else "too small",
        "less_than_equal": f"must be at most {high:g}" if high is not None else "too large",
        "int_type": "must be a whole number",
        "float_type": "must be a number",
        "bool_type": "must be true or false",
        "string_type": "must be a string",
        "list_type": "must be a list",
        "model_type": "must be a table",
        "dict_type": "must be a table",
        "dataclass_type": "must be a table",
        "too_short": "must not be empty",
        "string_too_short": "must not be empty",
        "string_pattern_mismatch": 'must be a short tag like "factual-error"',
        "missing": "is required",
    }
    if kind in ("greater_than_equal", "less_than_equal") and None not in (low, high):
        message = f"must be between {low:g} and {high:g}"
    elif kind == "literal_error":
        # `"*" | one | [list]`: every branch at this place names some of the choices.
        choices = list(dict.fromkeys(
            c.strip().strip("'")
            for p in problems
            if p["type"] == "literal_error" and _path(p["loc"]) == path
            for c in str((p.get("ctx") or {}).get("expected", "")).replace(" or ", ", ")
            .split(", ")
        ))  # fmt: skip
        hint = did_you_mean(given, choices) if isinstance(given, str) else ""
        message = f"{given!r} is not one of {', '.join(choices)}{hint}"
    else:
        message = messages.get(kind) or str(problem["msg"])[:1].lower() + str(problem["msg"])[1:]
    return f"{where(path, False)}: {message}"


def _table(model: type[BaseModel], path: Location) -> type[BaseModel]:
    """The model of the table at `path` (list indexes pass through)."""
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        inner = _models(field.annotation) if field is not None else []
        if not inner:
            return model
        model = inner[0]
    return model


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _bounds(model: type[BaseModel], path: Location) -> tuple[float | None, float | None]:
    """(ge, le) of the field at `path`, where it has them."""
    keys = [p for p in path if isinstance(p, str)]
    if not keys:
        return None, None
    field = _table(model, path[: path.index(keys[-1])]).model_fields.get(keys[-1])
    low = high = None
    for item in _constraints(field.annotation if field else None, field.metadata if field else []):
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


def _constraints(annotation: Any, metadata: list[Any]) -> list[Any]:
    found = list(metadata)
    for arg in typing.get_args(annotation):
        found.extend(getattr(arg, "__metadata__", ()))
    # An `Annotated[int, Field(ge=…)]` inside `| None` keeps its bounds one level down.
    return [c for item in found for c in [item, *getattr(item, "metadata", ())]]


def _path(loc: Sequence[Any]) -> Location:
    """The location without pydantic's union-branch tags (`literal['*']`, `list[...]`)."""
    return [p for p in loc if isinstance(p, int) or ("[" not in p and p not in _TYPE_TAGS)]


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict", "function-after"})
