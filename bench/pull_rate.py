"""Pulls per second from a loopback OpenAI-compatible server, ours vs bare httpx.

    python bench/pull_rate.py [--records 400]

Not part of the test suite; prints one line per concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from store import Store
from store.pull import pull
from tests.provider_tests.loopback import LoopbackServer
from tests.provider_tests.test_openai import chat_answer
from tui.config import load_settings
from tui.pulling import build


async def bare(url: str, n: int, concurrency: int) -> float:
    """The yardstick: httpx alone, same requests, same concurrency."""
    gate = asyncio.Semaphore(concurrency)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "logprobs": True}
    async with httpx.AsyncClient() as client:

        async def one() -> None:
            async with gate:
                (await client.post(f"{url}/v1/chat/completions", json=body)).json()

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - start)


async def ours(folder: Path, url: str, n: int, concurrency: int) -> float:
    """Signoff's adapter, parsing and store, end to end."""
    (folder / "in.jsonl").write_text(
        "".join(json.dumps({"id": f"R-{concurrency}-{i}", "text": "hi"}) + "\n"
                for i in range(n)), encoding="utf-8")  # fmt: skip
    (folder / "p.md").write_text("{text}", encoding="utf-8")
    config = folder / "c.toml"
    config.write_text(f'[providers.b]\ntype = "openai"\nbase_url = "{url}/v1"\nmodel = "m"\n'
                      'inputs = "in.jsonl"\nprompt = "p.md"\n', encoding="utf-8")  # fmt: skip
    provider = build("b", load_settings(config, default=config), env={})
    with Store(folder / f"q{concurrency}.db") as store:
        summary = await pull(store, provider, concurrency=concurrency)
    await provider.http.close()
    return summary.rate


def main() -> None:
    """Run both at concurrency 1 and 8."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=400)
    n = parser.parse_args().records
    with LoopbackServer(chat_answer) as server, tempfile.TemporaryDirectory() as tmp:
        for concurrency in (1, 8):
            yard = asyncio.run(bare(server.url, n, concurrency))
            mine = asyncio.run(ours(Path(tmp), server.url, n, concurrency))
            print(f"concurrency {concurrency}: signoff {mine:,.0f} pulls/s, bare httpx "
                  f"{yard:,.0f} req/s, ratio {mine / yard:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
