"""`anthropic` and `ollama` against loopback servers speaking their documented shapes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from store import Store
from store.pull import pull
from tests.provider_tests.loopback import Answer, Behaviour, LoopbackServer, json_answer
from tests.provider_tests.sdk import (
    anthropic_message,
    check_anthropic_request,
    check_ollama_request,
    checked,
    ollama_chat,
)
from tui.config import load_settings
from tui.pulling import build

KEY = "sk-ant-loopback-0123456789"


def anthropic_answer(path: str, body: dict[str, Any]) -> Answer:
    if path != "/v1/messages":
        return json_answer({"type": "error", "error": {"message": "not found"}}, 404)
    prompt = body["messages"][0]["content"]
    stop = "max_tokens" if "LONG" in prompt else "end_turn"
    return json_answer(anthropic_message(model=body["model"], text=["Hello ", prompt[:20]],
                                         stop=stop))  # fmt: skip


def ollama_answer(path: str, body: dict[str, Any]) -> Answer:
    assert body["stream"] is False
    return json_answer(ollama_chat(model=body["model"], content="Ollama says hi",
                                   logprobs=[("a", -0.5), ("b", -0.1)]))  # fmt: skip


def configure(tmp_path: Path, kind: str, url: str) -> Path:
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"id": "A-1", "text": "Summarise this"})
        + "\n"
        + json.dumps({"id": "A-2", "text": "LONG document"})
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "p.md").write_text("{text}", encoding="utf-8")
    config = tmp_path / "c.toml"
    key = 'api_key_env = "ANTHROPIC_KEY"\nsystem = "Be brief."\n' if kind == "anthropic" else ""
    config.write_text(
        f'[providers.llm]\ntype = "{kind}"\nbase_url = "{url}"\nmodel = "m-1"\n'
        f'inputs = "in.jsonl"\nprompt = "p.md"\nkind = "summary"\n{key}',
        encoding="utf-8",
    )
    return config


async def test_anthropic_messages(tmp_path: Path, db_path: Path) -> None:
    with (
        LoopbackServer(checked(check_anthropic_request, anthropic_answer)) as server,
        Store(db_path) as store,
    ):
        server.script = [Behaviour("status", 529, body=b'{"error":{"type":"overloaded_error"}}')]
        config = configure(tmp_path, "anthropic", server.url)
        provider = build("llm", load_settings(config, default=config), env={"ANTHROPIC_KEY": KEY})
        provider.http.sleep = _no_sleep
        summary = await pull(store, provider)
        await provider.http.close()
        assert (summary.fetched, summary.failed) == (2, 0)
        _, headers, body = server.requests[-1]
        assert headers["x-api-key"] == KEY
        assert headers["anthropic-version"] == "2023-06-01"
        assert body["system"] == "Be brief."
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert len(server.requests) == 3  # the 529 was retried
        one = store.find_item("llm", "A-1")
        assert one is not None
        assert one.draft == "Hello Summarise this"
        assert (one.confidence, one.confidence_basis) == (None, "none")  # unknown, not 0
        long = store.find_item("llm", "A-2")
        assert long is not None
        assert long.data_limits[0].detail == "answer cut off (stop_reason=max_tokens)"


async def test_ollama_native_chat_with_logprobs(tmp_path: Path, db_path: Path) -> None:
    with (
        LoopbackServer(checked(check_ollama_request, ollama_answer)) as server,
        Store(db_path) as store,
    ):
        config = configure(tmp_path, "ollama", server.url)
        provider = build("llm", load_settings(config, default=config), env={})
        summary = await pull(store, provider, concurrency=1)
        await provider.http.close()
        assert summary.fetched == 2
        assert server.requests[0][0] == "/api/chat"
        item = store.find_item("llm", "A-1")
        assert item is not None
        assert item.confidence == math.exp(-0.3)
        assert item.confidence_basis == "logprobs"
        assert item.kind == "summary"


async def _no_sleep(seconds: float) -> None:
    del seconds


async def test_the_app_pulls_in_the_background_while_keys_still_work(
    tmp_path: Path, db_path: Path
) -> None:
    from keymaps import load_keymap
    from store.clock import utc_now
    from tui.app import SignoffApp
    from tui.widgets.queue_list import QueueList

    with (
        LoopbackServer(checked(check_ollama_request, ollama_answer)) as server,
        Store(db_path) as store,
    ):
        config = configure(tmp_path, "ollama", server.url)
        settings = load_settings(config, default=config)
        app = SignoffApp(store, reviewer="alice", keymap=load_keymap("default"), now=utc_now,
                         db_label="q.db", settings=settings)  # fmt: skip
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("P")
            await pilot.press("down", "up")  # the app answers while the pull runs
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert {r.external_id for r in app.screen.query_one(QueueList).rows} == {"A-1", "A-2"}
        assert store.find_item("llm", "A-2") is not None


def self_reporting_answer(path: str, body: dict[str, Any]) -> Answer:
    assert body["format"]["required"] == ["answer", "confidence"]
    prompt = body["messages"][-1]["content"]
    content = (
        "not json at all"
        if "LONG" in prompt
        else json.dumps({"answer": "Structured reply", "confidence": 0.42})
    )
    return json_answer(ollama_chat(model="m-1", content=content))


async def test_self_reported_confidence_via_structured_output(
    tmp_path: Path, db_path: Path
) -> None:
    with (
        LoopbackServer(checked(check_ollama_request, self_reporting_answer)) as server,
        Store(db_path) as store,
    ):
        config = configure(tmp_path, "ollama", server.url)
        config.write_text(config.read_text() + "self_report = true\n", encoding="utf-8")
        provider = build("llm", load_settings(config, default=config), env={})
        await pull(store, provider)
        await provider.http.close()
        reported = store.find_item("llm", "A-1")
        assert reported is not None
        assert (reported.draft, reported.confidence, reported.confidence_basis) == (
            "Structured reply",
            0.42,
            "self-report",
        )
        missing = store.find_item("llm", "A-2")
        assert missing is not None
        assert (missing.confidence, missing.confidence_basis) == (None, "none")
        assert missing.data_limits[0].kind == "self-report"


def declining_anthropic(path: str, body: dict[str, Any]) -> Answer:
    """The newest models: no temperature; refusals and stops that come without text."""
    assert "temperature" not in body
    prompt = body["messages"][0]["content"]
    stop, content = "end_turn", ["Fine."]
    if "LONG" in prompt:
        stop, content = "refusal", []
    return json_answer(anthropic_message(model=body["model"], text=content, stop=stop,
                                         thinking="Let me think."))  # fmt: skip


async def test_anthropic_refusal_without_text_is_queued_with_a_limit(
    tmp_path: Path, db_path: Path
) -> None:
    with (
        LoopbackServer(checked(check_anthropic_request, declining_anthropic)) as server,
        Store(db_path) as store,
    ):
        config = configure(tmp_path, "anthropic", server.url)
        provider = build("llm", load_settings(config, default=config), env={"ANTHROPIC_KEY": KEY})
        summary = await pull(store, provider)
        await provider.http.close()
        assert (summary.fetched, summary.failed) == (2, 0)  # not "empty answer", not re-asked
        declined = store.find_item("llm", "A-2")
        assert declined is not None
        assert declined.draft == "(the model declined to answer)"
        assert (declined.data_limits[0].kind, declined.data_limits[0].severity) == (
            "refusal", "high",
        )  # fmt: skip
        fine = store.find_item("llm", "A-1")
        assert fine is not None
        assert fine.meta["reasoning"] == "Let me think."


def ollama_full_window(path: str, body: dict[str, Any]) -> Answer:
    if body["model"] == "missing":
        return json_answer({"error": "model 'missing' not found"}, 404)
    assert body["options"] == {"num_predict": 512, "num_ctx": 2048}  # no temperature
    prompt = body["messages"][-1]["content"]
    return json_answer(ollama_chat(model=body["model"], content="ok", thinking="hmm",
                                   prompt_eval_count=2040 if "LONG" in prompt else 30))  # fmt: skip


async def test_ollama_num_ctx_and_a_prompt_that_filled_it(tmp_path: Path, db_path: Path) -> None:
    with (
        LoopbackServer(checked(check_ollama_request, ollama_full_window)) as server,
        Store(db_path) as store,
    ):
        config = configure(tmp_path, "ollama", server.url)
        config.write_text(config.read_text() + "num_ctx = 2048\n", encoding="utf-8")
        provider = build("llm", load_settings(config, default=config), env={})
        await pull(store, provider, concurrency=1)
        await provider.http.close()
        full = store.find_item("llm", "A-2")
        assert full is not None
        assert "the prompt used 2,040 of the 2,048-token context window" in (
            full.data_limits[0].detail
        )
        short = store.find_item("llm", "A-1")
        assert short is not None
        assert short.data_limits == ()
        assert short.meta["reasoning"] == "hmm"
        config.write_text(config.read_text().replace('model = "m-1"', 'model = "missing"'))
        missing = build("llm", load_settings(config, default=config), env={})
        summary = await pull(store, missing, refresh=True)
        await missing.http.close()
        assert summary.errors[0].endswith("HTTP 404: model 'missing' not found")


def test_a_typo_in_a_fixed_value_is_refused_not_defaulted(tmp_path: Path) -> None:
    import pytest

    from tui.config import ConfigError

    config = configure(tmp_path, "ollama", "http://127.0.0.1:9")
    config.write_text(config.read_text() + 'stakes = "hgih"\n', encoding="utf-8")
    says = r"\[providers.llm\]: stakes: 'hgih' is not one of low, medium, high \(did you mean"
    with pytest.raises(ConfigError, match=says):
        build("llm", load_settings(config, default=config), env={})


async def test_the_apps_pull_notice_names_each_failing_record(
    tmp_path: Path, db_path: Path
) -> None:
    from keymaps import load_keymap
    from store.clock import utc_now
    from tui.app import SignoffApp

    def half_broken(path: str, body: dict[str, Any]) -> Answer:
        if "LONG" in body["messages"][-1]["content"]:
            return json_answer({"error": "model runner crashed"}, 400)
        return ollama_answer(path, body)

    with LoopbackServer(half_broken) as server, Store(db_path) as store:
        config = configure(tmp_path, "ollama", server.url)
        settings = load_settings(config, default=config)
        app = SignoffApp(store, reviewer="alice", keymap=load_keymap("default"), now=utc_now,
                         db_label="q.db", settings=settings)  # fmt: skip
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("P")
            await app.workers.wait_for_complete()
            await pilot.pause()
            said = [str(n.message) for n in app._notifications]
        (notice,) = [m for m in said if m.startswith("llm:")]
        assert notice.splitlines() == [
            "llm: 1 new, 1 failed, 0 already queued",
            "• llm: in.jsonl:2 (A-2): HTTP 400: model runner crashed",
        ]
