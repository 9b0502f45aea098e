"""Validate one raw record (a JSON object or CSV row) into a `Draft`.

Each rule raises `RecordError` with a sentence a person can act on; readers add the
file and line. Nothing here touches a database.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

from providers.base import (
    CONFIDENCE_BASES,
    SEVERITIES,
    STAKES,
    ConfidenceBasis,
    DataLimit,
    Draft,
    DraftFields,
    Severity,
    Stakes,
)
from providers.tokens import TokenProbs
from providers.tokens import from_records as tokens_from_records

MAX_DRAFT_BYTES: Final = 256 * 1024
MAX_INPUT_BYTES: Final = 1024 * 1024
MAX_TITLE_CHARS: Final = 500
MAX_ID_CHARS: Final = 200
MAX_DEPTH: Final = 16
MAX_LIMITS: Final = 100

FIELDS: Final = (
    "id",
    "draft",
    "source",
    "kind",
    "title",
    "input",
    "confidence",
    "confidence_basis",
    "data_limits",
    "model",
    "stakes",
    "created_at",
    "meta",
    "token_logprobs",
)
"""Every field a record may carry; anything else is refused (a typo would lose data)."""

_FIELD_SET: Final = frozenset(FIELDS)
_KIND_RE: Final = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SURROGATES: Final = re.compile("[\ud800-\udfff]")


class RecordError(ValueError):
    """A record that cannot become a draft; the message says which field and why."""


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (which one wins is undefined)."""


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json: refuse an object that repeats a key."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(f"key {key!r} appears twice")
            seen.add(key)
    return result


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """A " (did you mean 'x'?)" suffix for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_text(value: object, name: str, *, max_bytes: int | None = None) -> str:
    """Return `value` if it is storable text, else raise `RecordError` naming `name`."""
    if not isinstance(value, str):
        raise RecordError(f"{name} must be text, got {_type_name(value)}")
    if "\x00" in value:
        raise RecordError(f"{name} contains a NUL character (U+0000)")
    found = None if value.isascii() else _SURROGATES.search(value)
    if found:
        raise RecordError(
            f"{name} contains a lone surrogate (U+{ord(found.group()):04X}), not valid text"
        )
    if max_bytes is not None and len(value) * 4 > max_bytes:  # UTF-8: at most 4 bytes a char
        size = len(value.encode("utf-8"))
        if size > max_bytes:
            raise RecordError(f"{name} is {_kib(size)}, over the {_kib(max_bytes)} limit")
    return value


def parse_record(
    raw: Mapping[str, Any], *, default_source: str, default_stakes: Stakes = "medium"
) -> Draft:
    """Turn one raw record into a `Draft`.

    Args:
        raw: The decoded JSON object or CSV row.
        default_source: Source used when the record names none (e.g. the file's stem).
        default_stakes: Stakes used when the record names none.

    Raises:
        RecordError: When any field is missing, of the wrong type or out of range.
    """
    return Draft(*record_fields(raw, default_source=default_source, default_stakes=default_stakes))


def record_fields(
    raw: Mapping[str, Any], *, default_source: str, default_stakes: Stakes = "medium"
) -> DraftFields:
    """`parse_record`'s checks, giving the draft's fields, not a `Draft`.

    An import makes each record into its row (`store.ingest.prepare_fields`) and has no
    use for the frozen dataclass between the two, whose building was ~2 µs of the ~17
    that reading a record took. The fields pass every check `Draft` makes of its own
    (a test holds `Draft(*fields)` to that for random records).
    """
    if not _FIELD_SET.issuperset(raw):  # in C: a list built for every record cost 0.6 µs
        key = next(key for key in raw if key not in _FIELD_SET)
        raise RecordError(f"unknown field {key!r}{did_you_mean(key, FIELDS)}")
    # Only nested values can nest: most records have none but a short list.
    # A loop, not max() over a generator: this runs for every record of an import.
    depth = 0
    for value in raw.values():
        if type(value) in _NESTED and (inner := _depth(value)) > depth:
            depth = inner
    depth += 1
    if depth > MAX_DEPTH:
        raise RecordError(f"nesting too deep ({depth} levels; at most {MAX_DEPTH})")

    get = raw.get
    external_id = parse_id(get("id"))
    draft = get("draft")
    if draft is None:
        raise RecordError("missing draft")
    check_text(draft, "draft", max_bytes=MAX_DRAFT_BYTES)
    if not draft.strip():
        raise RecordError("draft is empty")
    confidence, basis = _parse_confidence(get("confidence"), get("confidence_basis"))
    title = _optional_text(raw, "title")
    if len(title) > MAX_TITLE_CHARS:
        raise RecordError(f"title is {len(title)} characters, over the {MAX_TITLE_CHARS} limit")
    # In `Draft`'s order, so the first bad field named is the same. A field left out
    # takes its default without a call: most records name few of them.
    return (
        default_source if (v := get("source")) in _ABSENT else _parse_word_text(v, "source"),
        external_id,
        draft,
        "draft" if (v := get("kind")) in _ABSENT else _parse_kind(v),
        title,
        "" if not (v := get("input")) else check_text(v, "input", max_bytes=MAX_INPUT_BYTES),
        confidence,
        basis,
        () if (v := get("data_limits")) in _ABSENT else parse_limits(v),
        _optional_text(raw, "model"),
        default_stakes if (v := get("stakes")) in _ABSENT else _parse_stakes(v),
        None if (v := get("created_at")) in _ABSENT else parse_time(v),
        {} if (v := get("meta")) in _ABSENT else _parse_meta(v),
        () if (v := get("token_logprobs")) in _ABSENT else _parse_tokens(draft, v),
    )


_ABSENT: Final = (None, "")
"""A field's value that stands for the field left out."""


def _parse_stakes(value: object) -> Stakes:
    """A given `stakes` (the caller has its default for one left out)."""
    return cast(Stakes, _parse_choice(value, "stakes", STAKES, default=""))


def _parse_tokens(draft: str, value: object) -> TokenProbs:
    """`token_logprobs`: OpenAI's `logprobs.content` shape, spelling the draft exactly."""
    try:
        return tokens_from_records(draft, value)
    except ValueError as error:
        raise RecordError(str(error)) from None


def parse_id(value: object) -> str:
    """A record's `id`: text or a whole number, not empty, not too long."""
    if value is None:
        raise RecordError("missing id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(f"id must be text or a whole number, got {_type_name(value)}")
    text = check_text(str(value), "id").strip()
    if not text:
        raise RecordError("id is empty")
    if len(text) > MAX_ID_CHARS:
        raise RecordError(f"id is {len(text)} characters, over the {MAX_ID_CHARS} limit")
    return text


def _parse_confidence(value: object, basis_raw: object) -> tuple[float | None, ConfidenceBasis]:
    basis: ConfidenceBasis | None = None
    if basis_raw not in _ABSENT:
        basis = cast(
            ConfidenceBasis, _parse_choice(basis_raw, "confidence_basis", CONFIDENCE_BASES, "none")
        )
    if value in _ABSENT:
        if basis not in (None, "none"):
            raise RecordError(f"confidence_basis is {basis!r} but no confidence is given")
        return None, "none"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = repr(value) if isinstance(value, str) else _type_name(value)
        raise RecordError(f"confidence must be a number from 0 to 1, got {shown}")
    number = float(value)
    if math.isnan(number):
        raise RecordError("confidence is NaN; leave it out (or null) when it is unknown")
    if math.isinf(number):
        raise RecordError("confidence is infinite; use a number from 0 to 1")
    if not 0.0 <= number <= 1.0:
        hint = f" ({number:g}% would be {number / 100:g})" if 1 < number <= 100 else ""
        raise RecordError(f"confidence {number:g} is out of range: use 0 to 1{hint}")
    if basis == "none":
        raise RecordError("confidence_basis is 'none' (unknown) but a confidence is given")
    # A number with no stated basis came from the source itself.
    return number, basis or "provider"


def parse_limits(value: object) -> tuple[DataLimit, ...]:
    """`data_limits`: text or `{kind, detail, severity}` entries (one or a list)."""
    if value in _ABSENT:
        return ()
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        raise RecordError(f"data_limits must be a list, got {_type_name(value)}")
    if len(value) > MAX_LIMITS:
        raise RecordError(f"data_limits has {len(value)} entries; at most {MAX_LIMITS}")
    limits = []
    for index, entry in enumerate(value):
        where = f"data_limits[{index}]"
        if isinstance(entry, str):
            detail = check_text(entry, where).strip()
            if detail:
                limits.append(DataLimit(kind="note", detail=detail, severity="warn"))
            continue
        if not isinstance(entry, dict):
            raise RecordError(f"{where} must be text or an object, got {_type_name(entry)}")
        extra = [k for k in entry if k not in ("kind", "detail", "severity")]
        if extra:
            keys = ("kind", "detail", "severity")
            raise RecordError(f"{where} has unknown key {extra[0]!r}{did_you_mean(extra[0], keys)}")
        detail = check_text(entry.get("detail", ""), f"{where}.detail").strip()
        kind = check_text(entry.get("kind") or "note", f"{where}.kind").strip() or "note"
        if not detail:
            detail = kind
        severity = cast(
            Severity, _parse_choice(entry.get("severity"), f"{where}.severity", SEVERITIES, "warn")
        )
        limits.append(DataLimit(kind=kind[:64], detail=detail[:2000], severity=severity))
    return tuple(limits)


def parse_time(value: object) -> dt.datetime | None:
    """`created_at`: ISO 8601 (naive means UTC) or epoch seconds; None when absent."""
    if value in _ABSENT:
        return None
    if isinstance(value, bool):
        raise RecordError("created_at must be an ISO 8601 time or epoch seconds, got a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise RecordError("created_at is not a finite number")
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"created_at {value!r} is not a valid epoch time") from None
    text = check_text(value, "created_at").strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(
            f"created_at {text[:40]!r} is not an ISO 8601 time (e.g. 2026-11-02T09:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # naive times are taken as UTC, as documented
    return parsed.astimezone(dt.UTC)


def _parse_meta(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"meta must be an object, got {_type_name(value)}")
    _check_json_values(value, "meta")
    return dict(value)


def _check_json_values(value: object, where: str) -> None:
    """Refuse NaN/infinity and bad text anywhere inside `meta`, naming the path."""
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise RecordError(f"{where} is {value!r}, which JSON cannot store")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, f"{where} key")
            _check_json_values(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_values(item, f"{where}[{index}]")


def _parse_kind(value: object) -> str:
    text = check_text(value, "kind").strip().lower()
    if not _KIND_RE.match(text):
        raise RecordError(
            f"kind {text[:40]!r} must be one word of letters, digits, '-' or '_' (e.g. reply)"
        )
    return text


def _parse_word_text(value: object, name: str) -> str:
    text = check_text(value, name).strip()
    if not text or len(text) > 100:
        raise RecordError(f"{name} must be 1 to 100 characters")
    return text


def _parse_choice(value: object, name: str, choices: tuple[str, ...], default: str) -> str:
    if value in _ABSENT:
        return default
    text = check_text(value, name).strip().lower()
    for choice in choices:
        if text == choice:
            return choice
    options = ", ".join(choices)
    raise RecordError(f"{name} {text[:40]!r} is not one of {options}{did_you_mean(text, choices)}")


def _optional_text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else check_text(value, name)


def _depth(value: object) -> int:
    """Nesting depth of a decoded JSON value, without recursion (a record could be hostile)."""
    if type(value) is list:
        for child in value:
            if type(child) in _NESTED:
                break
        else:
            return 1  # a flat list (most records' `data_limits`): no walk
    deepest = 0
    # Exact type checks: decoded JSON holds only dict and list, and ABC isinstance
    # checks were a third of the import time.
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if type(node) is dict:
            children: Iterable[object] = node.values()
        elif type(node) is list:
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if type(child) in _NESTED)
    return deepest


_NESTED: Final = (dict, list)


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    return names.get(type(value), type(value).__name__)


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KB"
