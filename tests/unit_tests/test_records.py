"""Record validation and the JSONL/CSV readers: every bad record alone, with its line."""

from __future__ import annotations

import dataclasses
import io
import json
import random
from typing import Any

import pytest

from providers.base import Draft, fields_of
from providers.files import MAX_LINE_BYTES, Parsed, Rejected, format_for, read_records
from providers.records import MAX_DEPTH, RecordError, parse_record, record_fields
from store.ingest import prepare, prepare_fields


def parse(**fields: Any) -> Any:
    return parse_record(fields, default_source="file")


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"draft": "x"}, "missing id"),
        ({"id": "", "draft": "x"}, "id is empty"),
        ({"id": True, "draft": "x"}, "id must be text"),
        ({"id": "1"}, "missing draft"),
        ({"id": "1", "draft": "   "}, "draft is empty"),
        ({"id": "1", "draft": 5}, "draft must be text, got a number"),
        ({"id": "1", "draft": "x", "confidence": float("nan")}, "NaN"),
        ({"id": "1", "draft": "x", "confidence": float("inf")}, "infinite"),
        ({"id": "1", "draft": "x", "confidence": 1.5}, "out of range"),
        ({"id": "1", "draft": "x", "confidence": -0.1}, "out of range"),
        ({"id": "1", "draft": "x", "confidence": 85}, "85% would be 0.85"),
        ({"id": "1", "draft": "x", "confidence": "high"}, "got 'high'"),
        ({"id": "1", "draft": "x", "confidence": True}, "got a boolean"),
        ({"id": "1", "draft": "x", "confidence_basis": "logprobs"}, "no confidence is given"),
        ({"id": "1", "draft": "x", "confidence": 0.5, "confidence_basis": "none"}, "unknown"),
        ({"id": "1", "draft": "x", "confidence": 0.5, "confidence_basis": "vibes"}, "not one of"),
        ({"id": "1", "draft": "a\x00b"}, "NUL"),
        ({"id": "1", "draft": "a\ud83db"}, "lone surrogate"),
        ({"id": "1", "title": "\udfff", "draft": "x"}, "title contains a lone surrogate"),
        ({"id": "1", "draft": "x" * (256 * 1024 + 1)}, "over the 256 KB limit"),
        ({"id": "1", "draft": "x", "stakes": "huge"}, "stakes 'huge' is not one of"),
        ({"id": "1", "draft": "x", "kind": "two words"}, "kind"),
        ({"id": "1", "draft": "x", "confidance": 0.4}, "did you mean 'confidence'"),
        ({"id": "1", "draft": "x", "data_limits": 3}, "data_limits must be a list"),
        ({"id": "1", "draft": "x", "data_limits": [{"severity": "dire"}]}, "severity"),
        ({"id": "1", "draft": "x", "data_limits": [{"detial": "x"}]}, "did you mean 'detail'"),
        ({"id": "1", "draft": "x", "created_at": "yesterday"}, "ISO 8601"),
        ({"id": "1", "draft": "x", "meta": [1]}, "meta must be an object"),
        ({"id": "1", "draft": "x", "meta": {"a": float("nan")}}, "meta.a"),
        ({"id": "1", "draft": "x", "meta": _nested(20)}, "nesting too deep"),
    ],
)
def test_bad_fields_are_named(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        parse(**fields)


def test_minimal_and_full_records() -> None:
    minimal = parse(id=1042, draft="Hello")
    assert (minimal.external_id, minimal.source, minimal.kind) == ("1042", "file", "draft")
    assert (minimal.confidence, minimal.confidence_basis, minimal.stakes) == (
        None,
        "none",
        "medium",
    )
    full = parse(
        id="T-1", draft="d", source="crm", kind="Reply", title="t", input="i", confidence=0.7,
        data_limits=["stale record", {"kind": "trunc", "detail": "cut", "severity": "high"}],
        model="m", stakes="HIGH", created_at="2026-11-02T09:30:00+01:00", meta={"k": [1, 2]},
    )  # fmt: skip
    assert full.confidence_basis == "provider"  # a bare number comes from the source
    assert full.kind == "reply"
    assert full.stakes == "high"
    assert [(x.kind, x.severity) for x in full.data_limits] == [("note", "warn"), ("trunc", "high")]
    assert full.created_at is not None
    assert full.created_at.hour == 8


def read(data: bytes, fmt: str = "jsonl") -> list[Parsed | Rejected]:
    return list(read_records(io.BytesIO(data), fmt, default_source="f"))


def test_jsonl_reports_each_bad_line_and_keeps_the_good() -> None:
    lines = [
        json.dumps({"id": "1", "draft": "good one"}),
        "",
        "{not json",
        json.dumps([1, 2]),
        '{"id": "4", "draft": "dup", "draft": "again"}',
        json.dumps({"id": "5", "draft": "good two"}),
        "[" * 100_000,
    ]
    data = ("\n".join(lines) + "\n").encode() + b'{"id": "8", "draft": "\xff"}\n'
    results = read(data)
    good = [(r.line, r.draft.external_id) for r in results if isinstance(r, Parsed)]
    bad = {r.line: r.reason for r in results if isinstance(r, Rejected)}
    assert good == [(1, "1"), (6, "5")]
    assert set(bad) == {3, 4, 5, 7, 8}
    assert "invalid JSON" in bad[3]
    assert "must be a JSON object" in bad[4]
    assert "appears twice" in bad[5]
    assert "nesting too deep" in bad[7] or "invalid JSON" in bad[7]
    assert "UTF-8" in bad[8]


def test_an_over_long_line_is_skipped_unread() -> None:
    data = b'{"id": "1", "draft": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n'
    data += b'{"id": "2", "draft": "fine"}\n'
    results = read(data)
    assert isinstance(results[0], Rejected)
    assert results[0].line == 1
    assert isinstance(results[1], Parsed)
    assert results[1].line == 2


def test_byte_order_mark_is_ignored() -> None:
    (result,) = read(b'\xef\xbb\xbf{"id": "1", "draft": "x"}\n')
    assert isinstance(result, Parsed)


def test_csv_with_quoted_newlines_keeps_line_numbers() -> None:
    data = (
        b"id,draft,confidence,data_limits,meta\r\n"
        b'1,"two\nlines",0.5,stale record; truncated input,\r\n'
        b"2,fine,abc,,\r\n"
        b'3,ok,,"[{""detail"": ""cut"", ""severity"": ""high""}]","{""k"": 1}"\r\n'
        b"4,too,many,cells,here,extra\r\n"
    )
    results = read(data, "csv")
    assert isinstance(results[0], Parsed)
    assert results[0].line == 2
    assert results[0].draft.draft == "two\nlines"
    assert len(results[0].draft.data_limits) == 2
    assert isinstance(results[1], Rejected)
    assert results[1].line == 4
    assert "got 'abc'" in results[1].reason
    assert isinstance(results[2], Parsed)
    assert results[2].draft.meta == {"k": 1}
    assert isinstance(results[3], Rejected)
    assert results[3].line == 6


def test_csv_with_an_unknown_column_is_refused_once() -> None:
    results = read(b"id,draft,confidance\n1,x,0.5\n2,y,0.6\n", "csv")
    assert len(results) == 1
    assert isinstance(results[0], Rejected)
    assert "did you mean 'confidence'" in results[0].reason


def test_format_is_chosen_by_extension() -> None:
    assert format_for("a.jsonl") == "jsonl"
    assert format_for("a.CSV") == "csv"
    assert format_for("-") == "jsonl"
    with pytest.raises(ValueError, match="one JSON object per line"):
        format_for("a.json")
    with pytest.raises(ValueError, match="cannot tell"):
        format_for("a.txt")


def _reference_depth(value: object) -> int:
    """Nesting depth by plain recursion (the test's own count, for small values)."""
    if isinstance(value, dict):
        return 1 + max(map(_reference_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_reference_depth, value), default=0)
    return 0


def test_nesting_is_counted_through_lists_and_objects_alike() -> None:
    # A flat list (most records' data_limits) is counted without a walk; anything nested
    # in a list, wherever it stands in it, must still be walked and counted.
    rng = random.Random(5)

    def build(levels: int) -> object:
        if levels == 0:
            return rng.choice(["x", 1, None, 0.5])
        inner = [build(rng.randrange(levels)) for _ in range(rng.randrange(3))]
        inner.insert(rng.randrange(len(inner) + 1), build(levels - 1))
        if rng.random() < 0.5:
            return dict(zip("abcd", inner, strict=False))
        return inner

    for _ in range(300):
        built = build(rng.randrange(1, 22))
        # Alone in the record, so its own count decides (beside a deeper value, a wrong
        # count for a list would go unseen); and behind a flat entry, as a list's first
        # entries are often flat.
        for value in (built, ["flat", built]):
            expected = 1 + _reference_depth(value)  # the record around the value
            outcome = ""
            try:
                parse(id="1", draft="x", data_limits=value)
            except RecordError as error:
                outcome = str(error)
            if expected > MAX_DEPTH:
                assert f"nesting too deep ({expected} levels" in outcome
            else:
                assert "nesting" not in outcome
    with pytest.raises(RecordError, match=r"nesting too deep \(18 levels"):
        parse(id="1", draft="x", data_limits=["a", "b", _nested_list(16)])


def _nested_list(depth: int) -> list[Any]:
    value: list[Any] = ["x"]
    for _ in range(depth - 1):
        value = [value]
    return value


# Rows as `prepare(parse_record(...))` made them before an import made its rows from
# fields (`record_fields`, `prepare_fields`): a stored `content_hash` that changed would
# count every unchanged record of the next import as updated.
_ROWS_BEFORE = (
    (
        {"id": "T-1", "draft": "Hello, about order 1: we issued a refund.", "title": "Ticket 1",
         "confidence": 0.25, "stakes": "high", "data_limits": [
             "stale record", {"kind": "gap", "detail": "no history", "severity": "high"}]},
        ("s", "T-1", "draft", "Ticket 1", "", "Hello, about order 1: we issued a refund.",
         "3fb3c091b6e1c470cbf09eb99a4bd2d021ff2e799b68ff71fa52bb83abf1a2c1", 0.25, "provider",
         '[{"detail":"no history","kind":"gap","severity":"high"},'
         '{"detail":"stale record","kind":"note","severity":"warn"}]', 3, "", "high", 3, "{}",
         "7c585bce8d30a7bd2cdbbfa7ec4e9a407a95c7ba54afe27430055d949e0e7f75", None, None, None,
         None),
    ),
    (
        {"id": 7, "draft": "Zoë said “no”.", "kind": "Reply", "input": "the ticket",
         "confidence_basis": "self-report", "confidence": 1, "model": "m-1",
         "created_at": "2026-11-02T09:30:00+01:00", "meta": {"b": [1, 0.5, None], "a": "é"},
         "token_logprobs": [{"token": "Zoë said ", "logprob": -0.1},
                            {"token": "“no”.", "logprob": -2}]},
        ("s", "7", "reply", "", "the ticket", "Zoë said “no”.",
         "35b5033caa58c4443b96ef253207be1acde9cd4d418b4a22622e924eb690f008", 1.0, "self-report",
         "[]", 0, "m-1", "medium", 2, '{"b":[1,0.5,null],"a":"é"}',
         "4b05d8ca043fa4b6cbb3a6a03672c91b3e8e247a92546d77a89239ebd1cc55a4",
         "2026-11-02T08:30:00.000000Z", None, None, "[[9,-0.1],[5,-2.0]]"),
    ),
)  # fmt: skip


@pytest.mark.parametrize(("raw", "row"), _ROWS_BEFORE)
def test_a_record_makes_the_row_it_made_before(raw: dict[str, Any], row: tuple[Any, ...]) -> None:
    assert prepare_fields(record_fields(raw, default_source="s")) == row
    assert prepare(parse_record(raw, default_source="s")) == row


def test_fields_are_drafts_fields_in_order() -> None:
    names = [f.name for f in dataclasses.fields(Draft)]
    draft = parse_record(_ROWS_BEFORE[1][0], default_source="s")
    assert fields_of(draft) == tuple(getattr(draft, name) for name in names)
    assert Draft(*fields_of(draft)) == draft


_CHOICES: dict[str, tuple[list[Any], list[Any]]] = {  # (accepted values, refused ones)
    "id": (["T-1", 42, " T-2 "], [None, "", "  ", True, 1.5, "x" * 201, "a\x00b", ["T"]]),
    "draft": (["ok", " padded "], [None, "", "   ", 3, "a\x00b", "\ud800", "x" * 300_000]),
    "source": ([None, "", "src", " padded "], [" ", "s" * 101, 5]),
    "kind": ([None, "", "Reply", "k" * 32], ["two words", "k" * 33, 1]),
    "title": ([None, "", "t", "t" * 500], ["t" * 501, 2]),
    "input": ([None, "", 0, False, "in", []], [["x"], "i" * 1_100_000]),
    "confidence": ([None, "", 0.5, 0, 1], [1.5, -0.1, float("nan"), float("inf"), True, "0.3"]),
    "confidence_basis": ([None, "", "logprobs", "Self-Report"], ["guess", 3]),
    "data_limits": ([None, "", "one", ["a", ""], {"kind": "k"}], [[{"x": 1}], 5, [3], ["l"] * 101]),
    "model": ([None, "", "m"], [4]),
    "stakes": ([None, "", "HIGH", "low"], ["huge", 1]),
    "created_at": ([None, "", 0, 1.5e9, "2026-01-01"], ["yesterday", True, float("nan"), 1e20]),
    "meta": ([None, "", {}, {"a": [1, {"b": None}]}], [{"a": float("nan")}, [1], {"k": "\x00"}]),
    "token_logprobs": ([None, "", [{"token": "ok", "logprob": -0.2}]], [[{"token": "no"}], "x"]),
}


def test_checked_fields_pass_every_check_a_draft_makes() -> None:
    # An import makes rows from fields with no Draft between (`prepare_fields`): what
    # `record_fields` lets through must be what `Draft(...)` would accept, and refusals
    # must stay `RecordError`s (a reader turns those into rejected lines).
    rng = random.Random(11)
    accepted = 0
    for _ in range(3000):
        raw = {
            name: rng.choice(good if rng.random() < 0.9 else bad)
            for name, (good, bad) in _CHOICES.items()
            if name in ("id", "draft") or rng.random() < 0.7
        }
        try:
            fields = record_fields(raw, default_source="file")
        except RecordError:
            continue
        accepted += 1
        draft = Draft(*fields)  # a ValueError here is a check `record_fields` lacks
        assert prepare_fields(fields) == prepare(draft)
    assert 500 < accepted < 2500  # neither all refused nor all accepted
