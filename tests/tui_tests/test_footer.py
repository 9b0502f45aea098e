"""Widgets Textual keeps after they close (8.2.8), and signoff's workarounds.

Counted in objects, not time. See `tui.widgets.watchers`.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer as TextualFooter
from textual.widgets import Input, Static, TextArea
from textual.widgets._footer import FooterKey

from store import Store
from tests.conftest import FakeClock, make_draft
from tests.tui_tests.conftest import AppFactory
from tests.tui_tests.test_oversight_ui import approve
from tui import heap
from tui.widgets.footer import Footer


def alive() -> int:
    gc.collect()
    return sum(isinstance(o, FooterKey) for o in gc.get_objects())


def closed_widgets() -> int:
    """Widgets still in memory after they were removed from the screen."""
    gc.collect()
    return sum(isinstance(o, Widget) and not o.is_attached for o in gc.get_objects())


def apps(footer: type[Widget]) -> App[None]:
    class Modal(ModalScreen[None]):
        BINDINGS = [("escape", "close", "close")]  # noqa: RUF012

        def compose(self) -> ComposeResult:
            yield Static("modal")
            yield footer()

        def action_close(self) -> None:
            self.dismiss(None)

    class Main(App[None]):
        BINDINGS = [("x", "bell", "bell")]  # noqa: RUF012

        def compose(self) -> ComposeResult:
            yield Static("main")
            yield footer()

        def action_open(self) -> None:
            self.push_screen(Modal())

    return Main()


async def cycles(footer: type[Widget], n: int) -> tuple[int, int]:
    app = apps(footer)
    async with app.run_test() as pilot:
        counts = []
        for cycle in range(1, n + 1):
            await app.run_action("open")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            if cycle in (5, n):
                counts.append(alive())
    return counts[0], counts[1]


async def test_textuals_footer_still_leaks_its_keys() -> None:
    early, late = await cycles(TextualFooter, 25)
    # When this fails, Textual fixed it: tui/widgets/footer.py can go.
    assert late - early >= 30


async def test_signoffs_footer_keeps_a_constant_number_of_keys() -> None:
    early, late = await cycles(Footer, 25)
    assert late - early <= 2


class _Focusable(Static, can_focus=True):
    """Takes focus without keys of its own."""


class _Keys(App[None]):
    """Two screens' worth of keys: the app's, and an input's while it has focus."""

    BINDINGS = [  # noqa: RUF012
        ("x", "count", "count"),
        ("y", "count", "again"),  # the same action: only its first key is shown
        ("z", "nothing", "off"),
    ]
    counted = 0

    def compose(self) -> ComposeResult:
        yield _Focusable("main", id="main")
        yield Input(id="field")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#main").focus()

    def action_count(self) -> None:
        self.counted += 1

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "nothing" else True  # shown, disabled


async def test_the_footer_draws_the_live_keys_in_place_and_a_click_presses_one() -> None:
    app = _Keys()
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        footer = app.query_one(Footer)
        line = footer.render_line(0).text  # as drawn, not as it would render now
        assert line.startswith("x count z off ")
        assert "again" not in line
        assert line.rstrip().endswith("^p palette")
        children = len(footer.children)
        app.query_one(Input).focus()
        await pilot.pause()
        assert "x count" not in footer.render_line(0).text  # redrawn for the input's keys
        assert len(footer.children) == children == 0  # redrawn, nothing mounted
        app.query_one("#main").focus()
        await pilot.pause()
        await pilot.click(Footer, offset=(2, 0))  # on "count"
        await pilot.click(Footer, offset=(8, 0))  # on the disabled "off"
        assert app.counted == 1


async def test_a_day_of_decisions_does_not_pile_up_footer_keys(
    review_store: Store, make_app: AppFactory
) -> None:
    review_store.ingest([make_draft(f"D-{i}", stakes="low") for i in range(30)])
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_next()
        await pilot.pause()
        counts = []
        for n in range(24):
            await approve(pilot, f"Checked refund D-{n} against the billing history line")
            if n in (3, 23):
                counts.append((alive(), closed_widgets()))
    (keys_early, closed_early), (keys_late, closed_late) = counts
    assert keys_late - keys_early <= 10, counts
    # Each justification box (a TextArea) stayed, through its App.theme watcher: +20 here.
    assert closed_late - closed_early <= 5, counts


async def test_textuals_text_area_still_stays_after_it_closes() -> None:
    class Box(ModalScreen[None]):
        def compose(self) -> ComposeResult:
            yield TextArea()

    app = App[None]()
    async with app.run_test() as pilot:
        for _ in range(10):
            await app.push_screen(Box())
            await pilot.pause()
            app.pop_screen()
            await pilot.pause()
        # When this fails, Textual fixed it: SafeTextArea.on_unmount can go.
        assert sum(isinstance(o, TextArea) for o in gc.get_objects()) >= 8


async def judge_then_approve(pilot: Pilot[None], n: int) -> None:
    """Answer the commit-first form (a score, or the first verdict), approve, go on."""
    from tui.screens.oversight import AfterDecision

    # The focused field, not the screen's query_one: its cache would keep each form.
    field = pilot.app.focused
    if isinstance(field, Input):
        field.insert_text_at_cursor("82")
        await pilot.press("enter")
    else:
        await pilot.press("enter", "down", "enter", "enter")
    await pilot.pause()
    await approve(pilot, f"Checked the item L-{n} against the pipeline notes")
    if isinstance(pilot.app.screen, AfterDecision):
        await pilot.press("enter")
        await pilot.pause()


def styles_caches() -> int:
    from textual._styles_cache import StylesCache

    gc.collect()
    return sum(isinstance(o, StylesCache) for o in gc.get_objects())


async def test_textuals_styles_caches_still_outlive_their_widgets() -> None:
    # An `lru_cache` already full (earlier tests) would evict one cache per new one.
    heap.unpin()
    app = App[None]()
    async with app.run_test() as pilot:
        before = styles_caches()
        for n in range(40):
            widget = Static(f"line {n}")
            await app.mount(widget)
            await pilot.pause()
            await widget.remove()
        # When this fails, Textual fixed it: `tui.heap.unpin` can go.
        assert styles_caches() - before >= 35
        heap.unpin()
        assert styles_caches() - before <= 2


async def test_commit_first_forms_come_and_go_and_leave_nothing_behind(
    db_path: Path, clock: FakeClock, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new form for every item (the shapes alternate): neither it nor what it drew stays."""
    from store import Store
    from tests.conftest import make_draft
    from tests.tui_tests.test_oversight_ui import oversight

    policy = oversight(commit_first_sources=frozenset({"leads"}))
    with Store(db_path, now=clock, oversight=policy) as store:
        store.ingest([make_draft(f"L-{i}", source="leads", kind=("score", "reply")[i % 2],
                                 draft="82" if i % 2 == 0 else f"Reply {i}")
                      for i in range(24)])  # fmt: skip
        app = make_app(store)
        monkeypatch.setattr(heap, "settle", lambda: None)  # no gc.freeze in the tests' process
        app.settles_heap = True  # the collection after each next item, as users run it
        async with app.run_test(size=(100, 30)) as pilot:
            app.open_next()
            await pilot.pause()
            counts = []
            for n in range(20):
                await judge_then_approve(pilot, n)
                await pilot.pause(heap.COLLECT_AFTER_S + 0.05)  # the app's collection
                if n in (3, 19):
                    counts.append((closed_widgets(), styles_caches()))
    (closed_early, styles_early), (closed_late, styles_late) = counts
    # Each form's input stayed, through its screen's text-selection signal: +16 here.
    assert closed_late - closed_early <= 4, counts
    # Each widget's styles cache stayed, through Textual's lru_cache (`heap.unpin`): +470.
    assert styles_late - styles_early <= 10, counts


async def test_the_heap_settles_twice_then_is_collected_after_each_next_item(
    db_path: Path, clock: FakeClock, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    settled: list[str] = []
    monkeypatch.setattr(heap, "SETTLE_AFTER_S", 0.01)
    monkeypatch.setattr(heap, "COLLECT_AFTER_S", 0.01)
    with Store(db_path, now=clock) as store:
        store.ingest([make_draft(f"D-{i}") for i in range(4)])
        app = make_app(store)
        monkeypatch.setattr(heap, "settle", lambda: settled.append(type(app.screen).__name__))
        monkeypatch.setattr(heap, "collect", lambda: settled.append("collect"))
        app.settles_heap = True  # headless apps (tests) do not settle on their own
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.05)
            app.open_next()
            await pilot.pause(0.05)
            for n in range(3):
                await approve(pilot, f"Checked refund D-{n} against the billing history line")
            await pilot.pause(0.05)
    assert settled == ["QueueScreen", "ItemScreen", "collect", "collect", "collect"]


def test_settling_freezes_what_lives_and_spaces_out_pythons_full_collections() -> None:
    before = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[2] == heap.AUTOMATIC_EVERY
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_no_automatic_collection_while_the_next_item_is_drawn(
    review_store: Store, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next item is filled, laid out and drawn with the collector off, then it is on."""
    from tui.screens.item import ItemScreen

    seen: list[bool] = []
    show = ItemScreen.show

    def watched(screen: ItemScreen, *args: Any) -> None:
        seen.append(gc.isenabled())
        show(screen, *args)
        seen.append(gc.isenabled())

    monkeypatch.setattr(ItemScreen, "show", watched)
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await approve(pilot, "Checked the refund amount against the billing history")
        await pilot.pause()
        assert isinstance(app.screen, ItemScreen)
    assert seen == [False, False]
    assert gc.isenabled()
