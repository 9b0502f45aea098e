"""Keys come from the keymap; help and the palette are generated from the live bindings."""

from __future__ import annotations

from textual.widgets import Label

from keymaps import ACTIONS
from store import Store
from tests.tui_tests.conftest import AppFactory, footer_says, reason_form
from tui.screens.dialogs import JustificationDialog
from tui.screens.help import HelpScreen, live_keys
from tui.screens.item import ItemScreen
from tui.screens.progress import ProgressScreen
from tui.screens.queue import QueueScreen
from tui.widgets.queue_list import QueueList
from tui.widgets.recorded import RecordedLine


async def test_a_remapped_key_moves_the_action_and_help_follows(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store, keys={"item.approve": "y", "item.escalate": []})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, ItemScreen)
        form = app.screen.query_one("#reason-form")
        await pilot.press("a")
        assert not form.display  # a no longer approves
        await pilot.press("exclamation_mark")
        assert not form.display  # escalate is unbound
        keys = live_keys(app.screen)
        assert keys["item.approve"] == ["y"]
        assert "item.escalate" not in keys
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Approve&#160;the&#160;draft" in app.export_screenshot()
        await pilot.press("escape")
        await pilot.press("y")
        assert "Approve" in str(reason_form(app).query_one(".dialog-title", Label).render())


async def test_help_lists_every_action_of_the_screen_with_its_key(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store, keymap="vim")
    async with app.run_test(size=(100, 40)) as pilot:
        keys = live_keys(app.screen)
        assert keys["queue.down"] == ["j", "↓"]
        assert {"app.quit", "app.help", "queue.next", "queue.filter"} <= set(keys)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        svg = app.export_screenshot()
        # Every live binding's id is listed (ids are unique; descriptions share words).
        for binding_id in keys:
            assert binding_id in svg, binding_id


async def test_a_panel_footer_says_its_keys_close_it(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        for key, panel in (("question_mark", "help"), ("t", "stats"), ("W", "progress")):
            await pilot.press(key)
            assert footer_says(app.screen) == "esc close", panel  # not "esc cancel"
            await pilot.press("escape")
    # With the panel's own key unbound, that key does nothing; the cancel key closes it.
    app = make_app(review_store, keys={"app.progress": ""})
    async with app.run_test(size=(100, 30)) as pilot:
        app.action_progress()
        await pilot.pause()
        assert footer_says(app.screen) == "esc close"
        await pilot.press("W")
        assert isinstance(app.screen, ProgressScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, ProgressScreen)


async def test_vim_keys_move_the_queue_cursor(review_store: Store, make_app: AppFactory) -> None:
    app = make_app(review_store, keymap="vim")
    async with app.run_test(size=(100, 30)) as pilot:
        queue = app.screen.query_one(QueueList)
        await pilot.press("j", "j")
        assert queue.cursor == 2
        await pilot.press("k")
        assert queue.cursor == 1
        await pilot.press("G")
        assert queue.cursor == len(queue.rows) - 1
        await pilot.press("g")
        assert queue.cursor == 0


async def test_the_palette_lists_actions_with_their_current_keys(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store, keys={"queue.next": "N"})
    async with app.run_test(size=(100, 30)):
        assert isinstance(app.screen, QueueScreen)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands[ACTIONS["queue.next"]].startswith("N")
        assert "queue.next" in commands[ACTIONS["queue.next"]]
        assert ACTIONS["app.help"] in commands


async def test_hints_name_the_keys_of_the_live_keymap(
    review_store: Store, make_app: AppFactory
) -> None:
    keys = {"item.toggle_input": "v", "item.undo": "z", "item.back": "h",
            "queue.filter": "F", "dialog.cancel": "ctrl+g"}  # fmt: skip
    app = make_app(review_store, keys=keys)
    async with app.run_test(size=(100, 30)) as pilot:
        summary = str(app.screen.query_one("#filter-summary").render())
        assert "(F filter, / search)" in summary
        await pilot.press("enter")
        item = app.screen
        assert isinstance(item, ItemScreen)
        assert item.query_one("#input-pane").border_title == "Input the AI saw (v to hide)"
        assert "· h back to queue" in item._head().plain
        assert app.with_keys(JustificationDialog.typing_hint).startswith(
            "Typing goes into the form here; ^g cancels"
        )
        assert "; ^g closes it" in app.with_keys(item.reason_hint)
        await pilot.press("a", *"Checked the refund against the billing history", "enter")
        await pilot.pause()
        said = app.screen.query_one(RecordedLine).said
        assert said is not None
        assert said.endswith("z undoes it.")


async def test_the_theme_chosen_is_kept_across_restarts(
    review_store: Store, make_app: AppFactory
) -> None:
    from tui.state import state_file

    first = make_app(review_store)
    async with first.run_test(size=(100, 30)) as pilot:
        assert first.theme != "nord"
        first.theme = "nord"  # as the palette's "Change theme" does
        await pilot.pause()
    assert state_file().exists()
    again = make_app(review_store)
    async with again.run_test(size=(100, 30)):
        assert again.theme == "nord"
    state_file().write_text("{not json")  # a damaged file is a first run, not a crash
    third = make_app(review_store)
    async with third.run_test(size=(100, 30)):
        assert third.theme != "nord"


async def test_the_card_key_shows_the_sources_ai_use_card(
    review_store: Store, make_app: AppFactory
) -> None:
    from tui.config import Settings
    from tui.screens.card import CardScreen

    card = {"purpose": "Drafts replies to billing tickets", "owner": "dana",
            "known_limits": ["CRM snapshot is a day old"]}  # fmt: skip
    app = make_app(review_store, settings=Settings(use_cards={"support": card}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter", "c")  # T-1, a support item
        assert isinstance(app.screen, CardScreen)
        shown = str(app.screen.query_one("#card-body").render())
        assert "Drafts replies to billing tickets" in shown
        assert "CRM snapshot is a day old" in shown
        await pilot.press("c")  # the same key closes it
        assert isinstance(app.screen, ItemScreen)
