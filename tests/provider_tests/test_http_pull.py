"""`http`: paged listings into the queue, and decisions back through the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from store import Store
from store.pull import pull
from store.push import push
from tests.conftest import FakeClock, make_draft
from tests.provider_tests.loopback import Answer, Behaviour, LoopbackServer, json_answer
from tui.config import load_settings
from tui.pulling import build

TOKEN = "helpdesk-token-0123456789"


def record(n: int, **extra: Any) -> dict[str, Any]:
    return {"ticket": {"id": f"H-{n}", "subject": f"Ticket {n}"},
            "suggestion": {"text": f"Suggested reply {n}"}, "score": 0.8, **extra}  # fmt: skip


def listing(path: str, body: dict[str, Any]) -> Answer:
    url = urlparse(path)
    if url.path == "/hook":
        return 204, {}, b""
    cursor = parse_qs(url.query).get("cursor", [None])[0]
    if cursor is None:
        items = [record(1), record(2, score="high"), record(3)]
        return json_answer({"data": {"items": items}, "next": "c2"})
    return json_answer({"data": {"items": [record(4)]}, "next": None})


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(listing) as running:
        yield running


def configure(tmp_path: Path, server: LoopbackServer) -> Path:
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
[providers.helpdesk]
type = "http"
url = "{server.url}/tickets"
items = "data.items"
id = "ticket.id"
draft = "suggestion.text"
title = "ticket.subject"
confidence = "score"
next_cursor = "next"
token_env = "HELPDESK_TOKEN"
deliver_url = "{server.url}/hook"
kind = "reply"
""",
        encoding="utf-8",
    )
    return config


async def test_pages_are_stored_and_the_cursor_follows_commits(
    tmp_path: Path, db_path: Path, server: LoopbackServer
) -> None:
    settings = load_settings(configure(tmp_path, server), default=tmp_path / "x")
    with Store(db_path) as store:
        provider = build("helpdesk", settings, env={"HELPDESK_TOKEN": TOKEN})
        first = await pull(store, provider)
        assert (first.fetched, first.rejected) == (3, 1)
        assert "page 1, record 2: confidence must be a number" in first.errors[0]
        assert store.cursor("helpdesk") == "c2"
        item = store.find_item("helpdesk", "H-4")
        assert item is not None
        assert (item.title, item.confidence, item.confidence_basis) == ("Ticket 4", 0.8, "provider")
        assert server.requests[0][1]["Authorization"] == f"Bearer {TOKEN}"
        server.requests.clear()
        again = await pull(store, provider)
        await provider.http.close()
        assert server.requests[0][0] == "/tickets?cursor=c2"  # resumes where it got to
        assert (again.stored.added, again.stored.unchanged) == (0, 1)


async def test_a_failed_page_does_not_move_the_cursor(
    tmp_path: Path, db_path: Path, server: LoopbackServer
) -> None:
    settings = load_settings(configure(tmp_path, server), default=tmp_path / "x")
    server.script = [Behaviour("status", 200, body=b'{"data": {"items": []}, "next": "c2"}'),
                     Behaviour("html", 200, body=b"<html>maintenance</html>")]  # fmt: skip
    with Store(db_path) as store:
        provider = build("helpdesk", settings, env={"HELPDESK_TOKEN": TOKEN})
        summary = await pull(store, provider)
        await provider.http.close()
        assert summary.failed == 1
        assert "HTML page" in summary.errors[-1]
        assert store.cursor("helpdesk") == "c2"  # page 1 committed; page 2 will be re-read


async def test_decisions_flow_back_through_the_outbox(
    tmp_path: Path, db_path: Path, server: LoopbackServer, clock: FakeClock
) -> None:
    settings = load_settings(configure(tmp_path, server), default=tmp_path / "x")
    with Store(db_path, now=clock) as store:
        store.delivers_for = frozenset({"helpdesk"})
        store.ingest([make_draft("H-9", source="helpdesk"), make_draft("S-1", source="other")])
        for n in range(2):
            claim = store.claim_next("alice")
            assert claim is not None
            store.decide(claim, "approve", f"Checked reply {n} against the ticket")
        events = {e.source: e for e in store.events()}
        assert store.backlog()[0] == 1  # written with the ledger event; "other" has no hook

        server.script = [Behaviour("status", 503)] * 5  # the receiver is down
        provider = build("helpdesk", settings, env={"HELPDESK_TOKEN": TOKEN})
        provider.http.sleep = _no_sleep
        down = await push(store, {"helpdesk": provider})
        assert (down.delivered, down.failed) == (0, 1)
        assert store.backlog()[0] == 1
        assert await push(store, {"helpdesk": provider}) == type(down)()  # not due yet
        clock.advance(minutes=2)
        up = await push(store, {"helpdesk": provider})
        await provider.http.close()
        assert up.delivered == 1
        assert store.backlog()[0] == 0
        path, headers, body = server.requests[-1]
        assert path == "/hook"
        assert headers["Idempotency-Key"] == events["helpdesk"].hash
        assert body["hash"] == events["helpdesk"].hash
        assert (body["action"], body["id"], body["reviewer"]) == ("approve", "H-9", "alice")
        assert body["justification"].startswith("Checked reply")


async def _no_sleep(seconds: float) -> None:
    del seconds
