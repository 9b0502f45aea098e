"""Token probabilities reach the item when they spell the answer; never when they do not."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from providers.tokens import MAX_TOKENS, aligned, decode, encode, from_records, spliced
from store import Store
from store.pull import pull
from tests.provider_tests.loopback import Answer, LoopbackServer, json_answer
from tests.provider_tests.sdk import (
    check_ollama_request,
    check_openai_request,
    checked,
    ollama_chat,
    openai_completion,
)
from tui.config import load_settings
from tui.pulling import build

CONTENT = "The refund of 40 EUR was issued on 3 May."
TOKENS = [("The", -0.01), (" refund", -0.05), (" of", -0.01), (" 40", -1.9), (" EUR", -0.2),
          (" was", -0.01), (" issued", -0.4), (" on", -0.01), (" 3", -2.3), (" May", -0.7),
          (".", -0.01)]  # fmt: skip


def openai_answer(path: str, body: dict[str, Any]) -> Answer:
    del path
    wrong = "WRONG" in body["messages"][-1]["content"]
    tokens: list[tuple[str, float | None]] = [(t.upper() if wrong else t, v) for t, v in TOKENS]
    return json_answer(openai_completion(model=body["model"], content=CONTENT, finish="stop",
                                         logprobs=tokens))  # fmt: skip


def ollama_answer(path: str, body: dict[str, Any]) -> Answer:
    del path
    return json_answer(ollama_chat(model=body["model"], content=CONTENT, logprobs=TOKENS))


def configure(tmp_path: Path, kind: str, url: str) -> Path:
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"id": "A-1", "text": "Summarise this"}) + "\n"
        + json.dumps({"id": "A-2", "text": "WRONG tokens please"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    (tmp_path / "p.md").write_text("{text}", encoding="utf-8")
    config = tmp_path / "c.toml"
    base = f"{url}/v1" if kind == "openai" else url
    config.write_text(
        f'[providers.llm]\ntype = "{kind}"\nbase_url = "{base}"\nmodel = "m-1"\n'
        f'inputs = "in.jsonl"\nprompt = "p.md"\nkind = "summary"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("kind", ["openai", "ollama"])
async def test_token_probabilities_are_kept_with_the_draft(
    tmp_path: Path, db_path: Path, kind: str
) -> None:
    answer, check = ((openai_answer, check_openai_request) if kind == "openai"
                     else (ollama_answer, check_ollama_request))  # fmt: skip
    with LoopbackServer(checked(check, answer)) as server, Store(db_path) as store:
        config = configure(tmp_path, kind, server.url)
        provider = build("llm", load_settings(config, default=config), env={})
        await pull(store, provider, concurrency=1)
        await provider.http.close()
        item = store.find_item("llm", "A-1")
        assert item is not None
        assert item.draft == CONTENT
        assert [n for n, _ in item.tokens] == [len(t) for t, _ in TOKENS]
        assert [v for _, v in item.tokens] == [v for _, v in TOKENS]
        if kind == "openai":  # tokens that do not spell the answer: no marks, and why
            other = store.find_item("llm", "A-2")
            assert other is not None
            assert other.tokens == ()
            assert "did not spell the answer" in str(other.meta.get("token_marks"))


def test_tokens_must_spell_the_text_exactly() -> None:
    assert aligned("ab", [("a", -0.1), ("b", -9999.0)]) == ((1, -0.1), (1, None))
    assert aligned("ab", [("a", -0.1)]) == ()  # short of the text
    assert aligned("ab", [("b", -0.1), ("a", -0.1)]) == ()
    assert aligned("ab", [("a", -0.1), ("bc", -0.1)]) == ()
    assert aligned("ab", [(None, -0.1)]) == ()
    long = "x" * (MAX_TOKENS + 10)
    assert len(aligned(long, [("x", -0.1)] * len(long))) == MAX_TOKENS  # bounded
    with pytest.raises(ValueError, match="do not spell the draft"):
        from_records("ab", [{"token": "a", "logprob": -1}])
    with pytest.raises(ValueError, match="must be a list"):
        from_records("ab", {"token": "ab"})
    kept = aligned(CONTENT, TOKENS)
    assert decode(encode(kept)) == kept
    assert decode("not json") == ()


def test_a_catch_trials_edit_carries_no_probability() -> None:
    old = CONTENT
    new = old.replace("40 EUR", "400 EUR")
    tokens = spliced(old, new, aligned(old, TOKENS))
    assert sum(n for n, _ in tokens) == len(new)
    changed = [(n, v) for n, v in tokens if v is None]
    assert changed == [(1, None)]
    assert math.isclose(sum(v or 0 for _, v in tokens), sum(v for _, v in TOKENS))


def test_an_imported_record_carries_its_token_logprobs() -> None:
    from providers.records import RecordError, parse_record

    given = [{"token": t, "logprob": v} for t, v in TOKENS]
    draft = parse_record({"id": "A-9", "draft": CONTENT, "token_logprobs": given},
                         default_source="files")  # fmt: skip
    assert draft.tokens == aligned(CONTENT, TOKENS)
    with pytest.raises(RecordError, match="do not spell the draft"):
        parse_record({"id": "A-9", "draft": CONTENT + "!", "token_logprobs": given},
                     default_source="files")  # fmt: skip
