"""Spec-valid but awkward answers: each bad record fails alone, named; odd ones are read right."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store import Store
from tests.provider_tests.loopback import Answer, LoopbackServer, json_answer
from tests.provider_tests.sdk import check_openai_request, checked, openai_completion
from tests.provider_tests.test_openai import setup, signoff

pytestmark = pytest.mark.slow
MODE = {"healthy": False}


def awkward(path: str, body: dict[str, Any]) -> Answer:
    """Chat Completions that answers by what the prompt asks for."""
    prompt = body["messages"][-1]["content"]
    content, finish = f"Reply to: {prompt[:30]}", "stop"
    extra: dict[str, str] = {}
    logprobs = [-0.1, -0.2, -0.3]
    if not MODE["healthy"]:
        if "EMPTY" in prompt:
            return json_answer(openai_completion(model="m", content=None, no_choices=True))
        if "GZIP" in prompt:
            return 200, {"content-encoding": "gzip"}, b"this is not gzip at all"
    if "HUGE" in prompt:
        logprobs = [-0.1, 800.0]  # exp(800) overflowed and aborted the whole pull
    if "SENTINEL" in prompt:
        logprobs = [-0.1] * 9 + [-9999.0]
    if "FILTER" in prompt:
        finish = "content_filter"
    if "THINK" in prompt:
        content = "<think>The customer wants a refund.</think>\n\nRefund sent."
        logprobs = [-5.0, -5.0, -5.0, -0.1, -0.1]  # thinking tokens are unsure
    if "REASON" in prompt:
        extra = {"reasoning_content": "Check the order first."}
    words = ["<think>", "The customer wants a refund.", "</think>", "Refund", " sent."]
    return json_answer(
        openai_completion(
            model=body["model"],
            content=content,
            finish=finish,
            logprobs=[(words[i % 5], v) for i, v in enumerate(logprobs)],
            message_extra=extra,
        )
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    MODE["healthy"] = False
    with LoopbackServer(checked(check_openai_request, awkward)) as running:
        yield running


RECORDS = [
    {"id": f"T-{n}", "name": "Dana", "message": word}
    for n, word in enumerate(["EMPTY", "GZIP", "HUGE", "SENTINEL", "FILTER", "THINK", "REASON",
                              "plain"], start=1)
]  # fmt: skip


def test_a_pull_survives_every_awkward_answer_and_names_each_failure(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = setup(tmp_path, server, RECORDS)
    db = tmp_path / "q.db"
    result = signoff("pull", config=config, db=db)
    assert result.returncode == 1  # two records failed; the rest are stored
    assert "support: 6 fetched" in result.stdout
    assert "Traceback" not in result.stderr
    failures = sorted(line for line in result.stderr.splitlines() if line.startswith("support:"))
    assert failures == [
        "support: tickets.jsonl:1 (T-1): unexpected answer: no choices in the answer",
        "support: tickets.jsonl:2 (T-2): sent a body that does not decompress",
    ]

    sent = server.requests[-1][2]
    assert sent["top_logprobs"] == 1
    assert sent["max_tokens"] == 512  # a local server: the field Ollama's /v1 reads
    assert "temperature" not in sent  # only when configured

    with Store(db) as store:

        def item(ext: str) -> Any:
            found = store.find_item("support", ext)
            assert found is not None
            return found

        assert item("T-3").confidence == pytest.approx(math.exp(-0.1))
        sentinel = item("T-4")
        assert sentinel.confidence == pytest.approx(math.exp(-0.1))
        assert any("1 of 10 tokens came with no real probability" in lim.detail
                   for lim in sentinel.data_limits)  # fmt: skip
        filtered = item("T-5")
        assert [lim.severity for lim in filtered.data_limits if lim.kind == "cut-off"] == ["high"]
        thought = item("T-6")
        assert thought.draft == "Refund sent."
        assert thought.meta["reasoning"] == "The customer wants a refund."
        assert thought.confidence == pytest.approx(math.exp(-0.1))  # the answer's tokens only
        assert item("T-7").meta["reasoning"] == "Check the order first."

    shown = signoff("status", config=config, db=db)
    assert "pull      support: 2 records not fetched yet; last tickets.jsonl:" in shown.stdout
    data = json.loads(signoff("status", "--json", config=config, db=db).stdout)
    assert data["pull_failures"][0]["records"] == 2

    MODE["healthy"] = True
    again = signoff("pull", config=config, db=db)
    assert again.returncode == 0, again.stderr
    assert "support: 2 fetched" in again.stdout
    data = json.loads(signoff("status", "--json", config=config, db=db).stdout)
    assert data["pull_failures"] == []


def test_a_third_party_provider_that_fails_to_import_is_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.provider_tests.test_openai import ROOT

    site = tmp_path / "site"
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[signoff.providers]\nbroken = broken_plugin:BrokenProvider\n"
    )
    (tmp_path / "in.jsonl").write_text('{"id": "1", "text": "x"}\n')
    (tmp_path / "p.md").write_text("{text}")
    config = tmp_path / "c.toml"
    config.write_text('[providers.b]\ntype = "broken"\nmodel = "m"\ninputs = "in.jsonl"\n'
                      'prompt = "p.md"\n')  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "tui", "pull", "--config", str(config),
         "--db", str(tmp_path / "q.db")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(site)},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"signoff: config: {config}: [providers.b]: provider type 'broken' (from "
        "broken-plugin) failed to load: ModuleNotFoundError: No module named 'broken_plugin'"
    ]
