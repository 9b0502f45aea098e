"""`jsonl`: following a file another system appends to."""

from __future__ import annotations

import json
from pathlib import Path

from store import Store
from store.pull import pull
from tui.config import load_settings
from tui.pulling import build


def line(n: int) -> bytes:
    return (json.dumps({"id": f"J-{n}", "draft": f"Suggested reply {n}"}) + "\n").encode()


async def test_new_complete_lines_are_picked_up(tmp_path: Path, db_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    half = line(4)[:10]
    feed.write_bytes(line(1) + line(2) + b'{"id": "J-3", "draft": 7}\n' + half)
    config = tmp_path / "c.toml"
    config.write_text('[providers.feed]\ntype = "jsonl"\npath = "feed.jsonl"\n', encoding="utf-8")
    settings = load_settings(config, default=config)
    with Store(db_path) as store:
        first = await pull(store, build("feed", settings, env={}))
        assert (first.fetched, first.rejected) == (2, 1)
        assert first.errors == ["feed.jsonl:3: draft must be text, got a number"]
        assert store.find_item("feed", "J-4") is None  # half-written: waits
        with feed.open("ab") as stream:
            stream.write(line(4)[10:] + line(5))
        second = await pull(store, build("feed", settings, env={}))
        assert (second.fetched, second.rejected) == (2, 0)
        assert store.find_item("feed", "J-5") is not None
        third = await pull(store, build("feed", settings, env={}))
        assert third.fetched == 0
        feed.write_bytes(line(9))  # replaced by a shorter file: read from the start
        fourth = await pull(store, build("feed", settings, env={}))
        assert fourth.stored.added == 1
