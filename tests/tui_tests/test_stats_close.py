"""Closing the Stats screen stops its count: no second full pass piles up behind it."""

from __future__ import annotations

import threading

import pytest

from store import Store
from store.reader import Reader
from store.stats import Stats
from tests.tui_tests.conftest import AppFactory
from tui.screens.stats import StatsScreen


async def test_closing_the_stats_screen_interrupts_its_reader(
    review_store: Store, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, stopped = threading.Event(), threading.Event()

    def slow_stats(self: Reader) -> Stats:
        started.set()
        if not stopped.wait(10):  # a long ledger: only an interrupt ends it early
            raise AssertionError("the count was never interrupted")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(Reader, "stats", slow_stats)
    monkeypatch.setattr(Reader, "interrupt", lambda self: stopped.set())
    shown: list[object] = []
    monkeypatch.setattr(StatsScreen, "_show", lambda self, *figures: shown.append(figures))
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert started.wait(5)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, StatsScreen)
    assert stopped.is_set()
    assert shown == []


async def test_the_stats_screen_leads_with_catches(
    review_store: Store, make_app: AppFactory
) -> None:
    from rich.console import Console
    from textual.widgets import Static

    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await pilot.pause()
        body = app.screen.query_one("#stats-body", Static).content
        console = Console(width=100, record=True)
        console.print(body)
        text = console.export_text()
    assert text.index("Catches first") < text.index("Overridden or rejected")
