"""Letters typed into forms never run commands, in every keymap, on every screen.

A reviewer types sentences; every sentence here holds every single-character key of
the keymap under test. Afterwards the ledger must hold exactly the events the
reviewer meant, and nothing else.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TypeVar

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select, TextArea

from keymaps import Keymap, key_character, load_keymap
from providers.base import DataLimit
from store import Store
from store.oversight import FrictionPolicy, OversightPolicy
from tests.conftest import T0, FakeClock, make_draft
from tests.tui_tests.conftest import AppFactory
from tui.app import SignoffApp
from tui.screens.dialogs import ConfirmScreen, EditScreen, JustificationDialog
from tui.screens.filter import FilterScreen
from tui.screens.item import ItemScreen
from tui.screens.oversight import AfterDecision
from tui.screens.queue import QueueScreen
from tui.widgets.safe_text_area import JustificationBox


def sentence(keymap: Keymap) -> str:
    """A justification-like sentence holding every single-character key of the keymap."""
    chars = sorted({c for keys in keymap.keys.values() for k in keys if (c := key_character(k))})
    assert {"a", "s", "u", "q", "x", "e", "o", "!", "?"} <= set(chars)  # the test is real
    return (
        "Checked the refund against the invoice history and the order dates "
        + " ".join(chars)
        + " and the customer record agrees with it"
    )


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Type character by character, as a person does: one key event each, in order.

    The events go in as the terminal driver sends them (Pilot's `press` waits for the
    app to go idle after every key, 80 ms a key here: minutes for these sentences).
    """
    app = pilot.app
    driver = app._driver
    assert driver is not None
    for char in text:
        key = _character_to_key(char) if not char.isalnum() else char
        event = events.Key(key, char)
        event.set_sender(app)
        driver.send_message(event)
    await pilot.pause()


S = TypeVar("S")


def current(app: SignoffApp) -> object:
    """The screen on top, unnarrowed."""
    return app.screen


def focused(app: SignoffApp) -> Widget | None:
    """The focused widget, unnarrowed (it changes between the test's steps)."""
    return app.focused


def screen_of(app: SignoffApp, kind: type[S]) -> S:
    screen = app.screen
    assert isinstance(screen, kind), type(screen)
    return screen


@pytest.mark.parametrize("keymap_name", ["default", "vim", "emacs"])
async def test_sentences_typed_anywhere_record_only_what_was_meant(
    keymap_name: str, db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    words = sentence(load_keymap(keymap_name))
    policy = OversightPolicy(
        rules=(), catch_rate=0.0, friction=FrictionPolicy(enabled=False),
        commit_first_sources=frozenset({"support", "leads"}),
    )  # fmt: skip
    with Store(db_path, now=clock, oversight=policy) as store:
        store.ingest([
            make_draft("T-1", stakes="high", created_at=T0 - dt.timedelta(hours=3)),
            make_draft("L-7", source="leads", kind="score", draft="82", stakes="medium",
                       title="Northwind", confidence=0.7, data_limits=(
                           DataLimit("stale", "CRM a day old", "warn"),),
                       created_at=T0 - dt.timedelta(hours=2)),
            make_draft("T-2", stakes="low", created_at=T0 - dt.timedelta(hours=1)),
        ])  # fmt: skip
        app = make_app(store, keymap=keymap_name)
        async with app.run_test(size=(100, 30)) as pilot:
            # The queue's search box.
            await pilot.press("slash")
            assert isinstance(app.focused, Input)
            await type_text(pilot, words)
            assert app.focused.value == words
            await pilot.press("escape")
            screen_of(app, QueueScreen)

            # The filter's kind box, and the same letters with a Select focused.
            await pilot.press("f")
            screen_of(app, FilterScreen).query_one("#kind", Input).focus()
            await type_text(pilot, words)
            screen_of(app, FilterScreen).query_one("#status", Select).focus()
            await type_text(pilot, words)
            await pilot.press("escape")
            screen_of(app, QueueScreen)

            # A commit-first reply: the verdict Select has focus, then the points box.
            await pilot.press("enter")
            item = screen_of(app, ItemScreen)
            assert item.item.external_id == "T-1"
            assert isinstance(focused(app), Select)  # the judgement field, at once
            await pilot.press("a")  # "record your own judgement first"
            await type_text(pilot, words)  # and the letters after it reach no command
            assert current(app) is item
            assert item.item.external_id == "T-1"
            item.query_one("#commit-value", Select).value = "expect-changes"
            await pilot.pause()
            notes = item.query_one("#commit-notes", Input)
            assert app.focused is notes
            await type_text(pilot, words)
            assert notes.value == words
            await pilot.press("tab")  # out of the box: still no command
            await type_text(pilot, words)
            assert current(app) is item
            assert item.item.external_id == "T-1"
            notes.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert item.committed

            # Edit: the text area, then its justification; cancelled.
            await pilot.press("e")
            screen_of(app, EditScreen)
            assert isinstance(focused(app), TextArea)
            await type_text(pilot, words)
            await pilot.press("ctrl+s")
            screen_of(app, JustificationDialog)
            await type_text(pilot, words)
            await pilot.press("escape")  # back to the editor, the edit kept
            screen_of(app, EditScreen)
            await pilot.press("escape")  # the editor's escape discards it
            assert current(app) is item

            # Override: the value box, the reason Select, the justification; cancelled.
            await pilot.press("o")
            dialog = screen_of(app, JustificationDialog)
            await type_text(pilot, words)
            assert dialog.query_one("#value", Input).value == words
            await pilot.press("enter")
            assert isinstance(focused(app), Select)
            await type_text(pilot, words)
            dialog.query_one("#justification", JustificationBox).focus()
            await type_text(pilot, words)
            await pilot.press("escape")
            assert current(app) is item
            assert list(store.events()) == []

            # The one decision meant: approve T-1 with the sentence.
            await pilot.press("a")
            await type_text(pilot, words)
            await pilot.press("enter")
            notice = screen_of(app, AfterDecision)  # said "needs changes", approved as is
            await type_text(pilot, words)
            assert screen_of(app, AfterDecision) is notice
            await pilot.press("enter")

            # The next item: a commit-first score; letters go into its field only.
            item = screen_of(app, ItemScreen)
            assert item.item.external_id == "L-7"
            score = item.query_one("#commit-value", Input)
            assert app.focused is score
            await type_text(pilot, words)
            assert score.value == words
            score.value = "40"
            await pilot.press("enter")
            await pilot.pause()
            assert item.committed

            # Undo names the approve; typing and Enter do not confirm it.
            await pilot.press("u")
            confirm = screen_of(app, ConfirmScreen)
            await type_text(pilot, words)
            await pilot.press("enter")
            assert current(app) is confirm
            await pilot.press("ctrl+s")
            screen_of(app, JustificationDialog)
            await type_text(pilot, "I approved it too fast: " + words)
            await pilot.press("enter")  # the second event meant: the retraction
            await pilot.pause()
            assert screen_of(app, ItemScreen).item.external_id == "T-1"

        events = list(store.events())
        assert [(e.action, e.external_id, e.justification) for e in events] == [
            ("approve", "T-1", words),
            ("retract", "T-1", "I approved it too fast: " + words),
        ]
        assert events[1].retracts == events[0].seq
        later = store.find_item("leads", "L-7")
        assert later is not None
        assert later.state == "pending"


def test_text_areas_and_inputs_count_as_text_fields_without_importing_them_at_start() -> None:
    # `_takes_text` finds TextArea through its module once loaded (it is not imported at
    # start): a Textual that moved the module would make typed letters look like commands.
    from textual.widgets import Static

    from tui.app import _takes_text
    from tui.widgets.safe_text_area import SafeTextArea

    assert [_takes_text(w) for w in (TextArea(), SafeTextArea(), Input(), Static(), None)] == [
        True,
        True,
        True,
        False,
        False,
    ]
