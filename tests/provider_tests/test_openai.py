"""`openai` end to end: a real loopback server, the real `signoff pull`, the store checked."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from rich.traceback import Traceback

from providers.adapter import JobProvider
from providers.common import logprob_confidence
from store import Store
from tests.provider_tests.loopback import Answer, Behaviour, LoopbackServer, json_answer
from tests.provider_tests.sdk import check_openai_request, checked, openai_completion
from tui.config import load_settings
from tui.pulling import build

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-loopback-test-key-0123456789"
LOGPROBS = [-0.1, -0.2, float("-inf"), -0.3]


def chat_answer(path: str, body: dict[str, Any]) -> Answer:
    """Speaks Chat Completions: echoes the prompt's first words, with logprobs."""
    if path != "/v1/chat/completions":
        return json_answer({"error": {"message": "not found"}}, 404)
    prompt = body["messages"][-1]["content"]
    finish = "length" if "LONG" in prompt else "stop"
    message: dict[str, Any] = {"role": "assistant", "content": f"Reply to: {prompt[:40]}"}
    if "REFUSE" in prompt:
        message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    if "BAD" in prompt:
        return json_answer({"error": {"message": "bad request"}}, 400)
    tokens = [("x", v if math.isfinite(v) else None) for v in LOGPROBS]
    if message.get("refusal"):
        return json_answer(openai_completion(model=body["model"], content=None, finish=finish,
                                             refusal=message["refusal"]))  # fmt: skip
    return json_answer(
        openai_completion(
            model=body["model"],
            content=message["content"],
            finish=finish,
            logprobs=tokens if body.get("logprobs") else None,
        )
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(checked(check_openai_request, chat_answer)) as running:
        yield running


def setup(tmp_path: Path, server: LoopbackServer, records: list[dict[str, Any]]) -> Path:
    (tmp_path / "tickets.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
    )
    (tmp_path / "reply.md").write_text("Customer {name} wrote:\n{message}\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[providers.support]
type = "openai"
base_url = "{server.url}/v1"
model = "qwen2.5-7b-instruct"
api_key_env = "SUPPORT_LLM_KEY"
inputs = "tickets.jsonl"
prompt = "reply.md"
kind = "reply"
max_input_chars = 200
concurrency = 3
""",
        encoding="utf-8",
    )
    return config


def signoff(*args: str, config: Path, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args, "--config", str(config), "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "SUPPORT_LLM_KEY": KEY},
    )  # fmt: skip


RECORDS: list[dict[str, Any]] = [
    {"id": "T-1", "name": "Dana", "message": "I was charged twice.", "stakes": "high",
     "title": "Double charge"},
    {"id": "T-2", "name": "Marco", "message": "LONG " + "x" * 400},
    {"id": "T-3", "message": "Where is my order?", "data_limits": ["CRM is a day old"]},
    {"id": "T-4", "name": "Eve", "message": "REFUSE this"},
    {"id": "T-5", "name": "Mallory", "message": "BAD request please"},
]  # fmt: skip


@pytest.mark.slow
def test_pull_fills_the_queue_with_confidence_and_limits(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = setup(tmp_path, server, RECORDS)
    db = tmp_path / "q.db"
    dry = signoff("pull", "--dry-run", config=config, db=db)
    assert dry.returncode == 0, dry.stderr
    assert "would fetch 5 of 5 records" in dry.stdout
    assert server.requests == []

    result = signoff("pull", config=config, db=db)
    assert result.returncode == 1  # T-5 failed
    assert "support: 4 fetched" in result.stdout
    assert "HTTP 400" in result.stderr
    assert server.requests[0][1]["Authorization"] == f"Bearer {KEY}"
    with Store(db) as store:
        one = store.find_item("support", "T-1")
        assert one is not None
        assert one.draft.startswith("Reply to: Customer Dana wrote:")
        assert one.confidence == pytest.approx(math.exp((-0.1 - 0.2 - 0.3) / 3))
        assert one.confidence_basis == "logprobs"
        assert (one.stakes, one.kind, one.title, one.model) == (
            "high",
            "reply",
            "Double charge",
            "qwen2.5-7b-instruct",
        )
        assert "Customer Dana wrote" in one.input
        long = store.find_item("support", "T-2")
        assert long is not None
        details = {limit.detail for limit in long.data_limits}
        assert "answer cut off (finish_reason=length)" in details
        assert any(d.startswith("input truncated:") for d in details)
        three = store.find_item("support", "T-3")
        assert three is not None
        assert {lim.detail for lim in three.data_limits} >= {
            "CRM is a day old",
            "template fields missing from the record: name",
        }
        refused = store.find_item("support", "T-4")
        assert refused is not None
        assert refused.data_limits[0].kind == "refusal"
        assert store.find_item("support", "T-5") is None

    again = signoff("pull", config=config, db=db)
    assert "0 fetched" in again.stdout  # re-pulling never duplicates or re-asks
    assert "4 already queued" in again.stdout
    assert KEY.encode() not in db.read_bytes()
    wal = Path(f"{db}-wal")
    assert not wal.exists() or KEY.encode() not in wal.read_bytes()
    for output in (dry, result, again):
        assert KEY not in output.stdout + output.stderr


@pytest.mark.slow
def test_rate_limits_and_outages_are_retried(tmp_path: Path, server: LoopbackServer) -> None:
    config = setup(tmp_path, server, RECORDS[:1])
    server.script = [
        Behaviour("status", 429, {"retry-after": "1"}, b'{"error": {"message": "slow"}}'),
        Behaviour("status", 503),
    ]
    result = signoff("pull", config=config, db=tmp_path / "q.db")
    assert result.returncode == 0, result.stderr
    assert "1 fetched" in result.stdout
    assert len(server.requests) == 3


def test_no_logprobs_means_unknown_never_zero() -> None:
    assert logprob_confidence([]) is None
    assert logprob_confidence([None, float("nan"), float("inf")]) is None
    # Placeholders are not probabilities: OpenAI/vLLM -9999.0, llama.cpp -3.4e38; a
    # logprob above 0 (800 overflowed exp()) is no probability either.
    assert logprob_confidence([-9999.0]) is None
    assert logprob_confidence([-0.1] * 49 + [-9999.0]) == pytest.approx(math.exp(-0.1))
    assert logprob_confidence([-0.1, -3.4e38, 800.0]) == pytest.approx(math.exp(-0.1))
    assert logprob_confidence([0.0]) == 1.0


def test_config_errors_name_the_table_and_key(tmp_path: Path) -> None:
    from tui.config import ConfigError

    config = tmp_path / "config.toml"
    config.write_text('[providers.x]\ntype = "openai"\nbase_url = "u"\nmodle = "m"\n')
    settings = load_settings(config, default=config)
    with pytest.raises(ConfigError, match=r"\[providers.x\]: unknown key 'modle' \(did you mean"):
        build("x", settings, env={})
    config.write_text('[providers.x]\ntype = "opneai"\n')
    with pytest.raises(ConfigError, match="did you mean 'openai'"):
        build("x", load_settings(config, default=config), env={})


async def test_a_crash_with_locals_never_shows_the_key(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = setup(tmp_path, server, RECORDS[:1])
    settings = load_settings(config, default=config)

    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("simulated crash deep in the transport")

    provider = build("support", settings, env={"SUPPORT_LLM_KEY": KEY},
                     transport=httpx.MockTransport(explode))  # fmt: skip
    assert isinstance(provider, JobProvider)
    job = next(j for j in provider.jobs() if not isinstance(j, str))
    try:
        await provider.fetch(job)
    except RuntimeError as error:
        console = Console(file=io.StringIO(), width=200)
        console.print(Traceback.from_exception(type(error), error, error.__traceback__,
                                               show_locals=True))  # fmt: skip
        rendered = console.file.getvalue()  # type: ignore[attr-defined]
    finally:
        await provider.http.close()
    assert "simulated crash" in rendered
    assert "Secret('********')" in rendered  # the locals were shown…
    assert KEY not in rendered  # …but never the key


@pytest.mark.slow
def test_a_killed_pull_keeps_its_batches_and_the_next_fetches_the_rest(
    tmp_path: Path, server: LoopbackServer
) -> None:
    import signal
    import sqlite3
    import time

    total = 1000  # about 3 s of pulling at concurrency 1: the kill lands mid-way
    records = [{"id": f"K-{i}", "name": "N", "message": f"m {i}"} for i in range(total)]
    config = setup(tmp_path, server, records)
    config.write_text(config.read_text().replace("concurrency = 3", "concurrency = 1"))
    db = tmp_path / "q.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "pull", "--config", str(config), "--db", str(db)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "SUPPORT_LLM_KEY": KEY},
    )  # fmt: skip
    committed = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and committed < 50:
        time.sleep(0.05)
        try:
            conn = sqlite3.connect(db)
            committed = conn.execute("SELECT count(*) FROM items").fetchone()[0]
            conn.close()
        except sqlite3.Error:
            committed = 0
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    conn = sqlite3.connect(db)
    kept = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    conn.close()
    assert 50 <= kept < total
    result = signoff("pull", config=config, db=db)
    assert result.returncode == 0, result.stderr
    assert f"{total - kept:,} fetched" in result.stdout
    assert f"{kept:,} already queued" in result.stdout
    with Store(db) as store:
        # Catch trials (5 % by default) are mixed in on top of the fetched records.
        planted, real = store.plant_count()
        assert (real, planted) == (total, round(total * 0.05 / 0.95))
