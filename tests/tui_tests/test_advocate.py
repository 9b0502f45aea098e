"""The devil's advocate: asked only after the reviewer's judgement, shown, and recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from store import DecisionError, Store
from tests.conftest import FakeClock, make_draft
from tests.provider_tests.loopback import Answer, LoopbackServer, json_answer
from tests.provider_tests.sdk import check_openai_request, checked, openai_completion
from tests.tui_tests.conftest import AppFactory
from tests.tui_tests.test_oversight_ui import WHY, approve, oversight
from tui.config import Settings
from tui.screens.item import ItemScreen

SAID = ("1. The score rests on one demo request; the input shows no budget.\n"
        "2. Nothing in the input supports 'enterprise'.")  # fmt: skip


def answer(path: str, body: dict[str, Any]) -> Answer:
    del path
    assert "Argue against the draft" in body["messages"][-1]["content"]
    return json_answer(openai_completion(model="critic-1", content=SAID, finish="stop"))


def settings_for(tmp_path: Path, url: str) -> Settings:
    (tmp_path / "in.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "p.md").write_text("{text}", encoding="utf-8")
    table = {"type": "openai", "base_url": f"{url}/v1", "model": "critic-1",
             "inputs": str(tmp_path / "in.jsonl"), "prompt": str(tmp_path / "p.md")}  # fmt: skip
    return Settings(providers={"llm": table}, advocate_provider="llm")


async def test_the_advocate_speaks_after_the_judgement_and_is_recorded(
    db_path: Path, clock: FakeClock, make_app: AppFactory, tmp_path: Path
) -> None:
    policy = dataclasses.replace(oversight(), advocate_stakes=frozenset({"high"}))
    with (
        LoopbackServer(checked(check_openai_request, answer)) as server,
        Store(db_path, now=clock, oversight=policy) as store,
    ):
        store.ingest([make_draft("L-7", kind="score", draft="82", stakes="high",
                                 title="Northwind lead")])  # fmt: skip
        app = make_app(store, settings=settings_for(tmp_path, server.url))
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            assert screen.need.advocate
            assert not screen.query_one("#advocate").display
            screen.query_one("#commit-value", Input).value = "40"
            assert server.requests == []  # nothing asked before the judgement
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert len(server.requests) == 1
            assert screen.query_one("#advocate").display
            assert (
                "nothing in the input supports"
                in str(screen.query_one("#advocate", Static).render()).lower()
            )
            await approve(pilot, WHY)
        (event,) = [store.event(1)]
        assert event is not None
        assert event.oversight is not None
        assert event.oversight["advocate"] == {"text": SAID, "model": "critic-1"}
        assert event.output == "82"  # the advocate is never the decision


async def test_a_decision_waits_for_the_advocate_or_records_that_it_failed(
    db_path: Path, clock: FakeClock, make_app: AppFactory, tmp_path: Path
) -> None:
    policy = dataclasses.replace(oversight(), advocate_stakes=frozenset({"high"}))
    with Store(db_path, now=clock, oversight=policy) as store:
        store.ingest([make_draft("L-7", kind="score", draft="82", stakes="high")])
        claim = store.claim_next("alice")
        assert claim is not None
        store.commit_judgement(claim, "40")
        with pytest.raises(DecisionError, match="devil's advocate"):
            store.decide(claim, "approve", WHY)
        # A server that cannot be reached: the app shows it, and the decision records it.
        app = make_app(store, settings=settings_for(tmp_path, "http://127.0.0.1:9"))
        async with app.run_test(size=(100, 32)) as pilot:
            app.open_item(claim.item_id)
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            assert "could not answer" in str(screen.query_one("#advocate", Static).render())
            await approve(pilot, WHY)
        event = store.event(1)
        assert event is not None
        assert event.oversight is not None
        assert "error" in event.oversight["advocate"]


async def test_asked_for_on_any_item_the_advocate_still_waits_for_a_judgement(
    db_path: Path, clock: FakeClock, make_app: AppFactory, tmp_path: Path
) -> None:
    from tui.screens.oversight import JudgementFirst

    with (
        LoopbackServer(checked(check_openai_request, answer)) as server,
        Store(db_path, now=clock, oversight=oversight()) as store,
    ):
        store.ingest([make_draft("L-8", kind="score", draft="82", title="Northwind lead")])
        app = make_app(store, settings=settings_for(tmp_path, server.url))
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            assert not screen.need.advocate  # not the policy's: asked for
            await pilot.press("V")
            modal = app.screen
            assert isinstance(modal, JudgementFirst)
            assert server.requests == []
            modal.query_one("#commit-value", Input).value = "60"
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen is screen
            assert len(server.requests) == 1
            await approve(pilot, WHY)
        event = store.event(1)
        assert event is not None
        assert event.oversight is not None
        assert event.oversight["advocate"]["asked"] == "on request"


async def test_without_an_advocate_configured_the_key_says_so(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("V")
        assert any("No devil's advocate is configured" in str(n.message)
                   for n in app._notifications)  # fmt: skip
