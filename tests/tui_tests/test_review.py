"""Behaviour of the review app, driven by keys, asserted on the store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Label, Markdown, Select, Static, TextArea

from store import Store
from tests.conftest import T0
from tests.tui_tests.conftest import AppFactory, approve_dialog, is_open, reason_form
from tui.app import SignoffApp
from tui.screens.dialogs import ConfirmScreen, EditScreen, JustificationDialog
from tui.screens.item import ItemScreen
from tui.screens.queue import QueueScreen
from tui.widgets.queue_list import QueueList
from tui.widgets.safe_text_area import JustificationBox

WHY = "Checked the refund against the billing history"


async def type_and(pilot: Pilot[None], text: str, key: str) -> None:
    """Put `text` in the focused input (as a paste would), then press `key`."""
    focused = pilot.app.focused
    assert isinstance(focused, Input | JustificationBox), focused
    focused.insert_text_at_cursor(text)
    await pilot.press(key)
    await pilot.pause()


async def open_and_press(
    pilot: Pilot[None], store: Store, source: str, external_id: str, key: str
) -> JustificationDialog[Any]:
    """Open one item by its id, press `key`, and return the dialog that opened."""
    item = store.find_item(source, external_id)
    assert item is not None
    app = pilot.app
    assert isinstance(app, SignoffApp)
    app.open_item(item.id)
    await pilot.pause()
    await pilot.press(key)
    dialog = app.screen
    assert isinstance(dialog, JustificationDialog)
    return dialog


def _item(app: object) -> ItemScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ItemScreen), type(screen)
    return screen


async def test_approve_records_one_event_with_the_typed_justification(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        first = _item(app).item
        assert first.external_id == "T-1"  # highest stakes first
        assert review_store.get_item(first.id).state == "claimed"
        await pilot.press("a")
        reason_form(app)  # under the draft, focused
        assert _item(app).query_one("#draft-pane").display  # the draft stays in view
        await pilot.press(*WHY, "enter")
        await pilot.pause()
        events = list(review_store.events())
        assert [(e.action, e.justification, e.reviewer) for e in events] == [
            ("approve", WHY, "alice")
        ]
        assert events[0].output == first.draft
        assert _item(app).item.external_id == "L-7"  # the next item opened
        # The top line counts the decision just made and the claim just taken.
        top = str(_item(app).query_one("#topbar", Static).render())
        assert "(1 claimed)  1 decided" in top, top


async def test_escape_records_nothing(review_store: Store, make_app: AppFactory) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "a")
        await type_and(pilot, WHY, "escape")
        assert list(review_store.events()) == []
        screen = _item(app)
        assert review_store.get_item(screen.item.id).state == "claimed"
        assert not screen.query_one("#reason-form").display  # closed, back on the draft
        assert app.focused is screen.query_one("#draft-pane")


async def test_a_refused_justification_keeps_the_dialog_open(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "a")
        await type_and(pilot, "looks good to me", "enter")
        form = reason_form(app)
        error = form.query_one("#error", Static)
        assert "stock phrase" in str(error.render())
        assert "stock phrase" in str(form.query_one("#feedback", Static).render())
        assert list(review_store.events()) == []
        # Fixing the text records it.
        form.query_one("#justification", JustificationBox).value = ""
        await type_and(pilot, WHY, "ctrl+s")
        await pilot.pause()
        assert [e.action for e in review_store.events()] == ["approve"]


async def test_edit_shows_a_diff_and_stores_the_edited_text(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "e")
        assert isinstance(app.screen, EditScreen)
        area = app.screen.query_one(TextArea)
        edited = area.text + " We are sorry for the wait."
        area.text = edited
        await pilot.press("ctrl+s")
        dialog = app.screen
        assert isinstance(dialog, JustificationDialog)
        diff = str(dialog.query_one("#diff Static", Static).render())
        assert "+" in diff
        assert "sorry for the wait" in diff
        await type_and(pilot, "Added the apology our tone guide asks for", "enter")
        await pilot.pause()
        (event,) = review_store.events()
        assert (event.action, event.output) == ("edit", edited)


async def test_override_a_label_and_reject_with_reason_codes(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await open_and_press(pilot, review_store, "risk", "R-3", "o")
        dialog.query_one("#value", Select).value = "fraud"
        dialog.query_one("#reason", Select).value = "wrong-value"
        dialog.query_one("#justification").focus()
        await pilot.pause()
        await type_and(pilot, "Device seen on three other cards today", "enter")
        await pilot.pause()
        # The next item (T-2 is low stakes, L-7 medium and older) is open: reject it.
        await pilot.press("x")
        rejecting = app.screen
        assert isinstance(rejecting, JustificationDialog)
        assert app.focused is rejecting.query_one("#reason")  # the reason comes first
        rejecting.query_one("#justification").focus()
        await pilot.pause()
        await type_and(pilot, "No reason code chosen yet so refused", "enter")
        assert "Choose a reason" in str(rejecting.query_one("#error", Static).render())
        rejecting.query_one("#reason", Select).value = "missing-data"
        await pilot.press("ctrl+s")
        await pilot.pause()
        events = list(review_store.events())
        assert [(e.action, e.external_id, e.output, e.reason_code) for e in events] == [
            ("override", "R-3", "fraud", "wrong-value"),
            ("reject", "T-1", None, "missing-data"),
        ]


async def test_override_a_score_takes_a_typed_value(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await open_and_press(pilot, review_store, "leads", "L-7", "o")
        await type_and(pilot, "40", "enter")
        dialog.query_one("#reason", Select).value = "wrong-value"
        dialog.query_one("#justification").focus()
        await pilot.pause()
        await type_and(pilot, "Newsletter signup only, no buying signal", "enter")
        await pilot.pause()
        (event,) = review_store.events()
        assert (event.action, event.output) == ("override", "40")


async def test_escalate_skip_and_back(review_store: Store, make_app: AppFactory) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        skipped = _item(app).item
        await pilot.press("s")
        await pilot.pause()
        assert review_store.get_item(skipped.id).state == "pending"
        current = _item(app).item
        assert current.id != skipped.id
        await pilot.press("exclamation_mark")
        await type_and(pilot, "Needs a lead: score looks inflated", "enter")
        await pilot.pause()
        assert [e.action for e in review_store.events()] == ["escalate"]
        assert review_store.get_item(current.id).state == "escalated"
        held = _item(app).item
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        assert review_store.get_item(held.id).state == "pending"
        assert len(list(review_store.events())) == 1  # skip and back recorded nothing


async def test_undo_appends_a_retract_and_reopens_the_item(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "a")
        await type_and(pilot, WHY, "enter")
        await pilot.pause()
        decided = next(iter(review_store.events()))
        await pilot.press("u")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        asked = str(confirm.query_one("#confirm-body", Static).render())
        assert "approve of T-1" in asked
        assert f"recorded {T0.astimezone():%H:%M}" in asked  # the clock's time, local zone
        await pilot.press(*"yes do it", "enter")  # neither letters nor Enter confirm
        assert app.screen is confirm
        await pilot.press("ctrl+s")
        dialog = app.screen
        assert isinstance(dialog, JustificationDialog)
        assert "Why take it back" in " ".join(str(w.render()) for w in dialog.query(Label))
        await type_and(pilot, "Approved too fast, the amount needs a second look", "enter")
        await pilot.pause()
        events = list(review_store.events())
        assert [(e.action, e.retracts) for e in events] == [
            ("approve", None),
            ("retract", decided.seq),
        ]
        assert _item(app).item.id == decided.item_id
        assert review_store.get_item(decided.item_id).state == "claimed"


async def test_quit_releases_the_claim(review_store: Store, make_app: AppFactory) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        held = _item(app).item
        await pilot.press("q")
    assert review_store.get_item(held.id).state == "pending"
    assert list(review_store.events()) == []


async def test_two_apps_on_one_database_never_show_the_same_item(
    review_store: Store, make_app: AppFactory, clock: object
) -> None:
    other_store = Store(review_store.path, now=review_store.now)
    first, second = make_app(review_store, "alice"), make_app(other_store, "bob")
    try:
        async with first.run_test(size=(100, 30)) as one, second.run_test(size=(100, 30)) as two:
            await one.press("n")
            await two.press("n")
            mine, theirs = _item(first).item, _item(second).item
            assert mine.id != theirs.id
            # Bob tries to open Alice's item from the queue: refused, nothing opens for him.
            await two.press("escape")
            second.open_item(mine.id)
            await two.pause()
            assert isinstance(second.screen, QueueScreen)
            assert review_store.get_item(mine.id).state == "claimed"
    finally:
        other_store.close()


async def test_guidelines_for_the_source_are_shown_without_live_links(
    review_store: Store, make_app: AppFactory, tmp_path: Path
) -> None:
    guide = tmp_path / "support.md"
    guide.write_text("# Refunds\n\nOnly refund [within 30 days](file:///etc/passwd).\n")
    app = make_app(review_store, guidelines={"support": guide})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        screen = _item(app)
        markdown = screen.query_one("#guidelines", Markdown)
        assert markdown._open_links is False
        screen.query_one("#side").scroll_end(animate=False)
        await pilot.pause()
        svg = app.export_screenshot()
        assert "Refunds" in svg
        assert "within" in svg  # the link text, shown as text


async def test_reject_from_the_keyboard_alone(review_store: Store, make_app: AppFactory) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "x")
        await pilot.press("enter", "down", "enter")  # open the reason list, pick the first
        assert isinstance(app.focused, JustificationBox)  # choosing a reason moved on to "why"
        await type_and(pilot, "The refund amount contradicts the invoice", "enter")
        (event,) = review_store.events()
        assert (event.action, event.reason_code) == ("reject", "factual-error")


async def test_search_and_filter_run_off_the_ui_thread(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        queue = app.screen.query_one(QueueList)
        assert len(queue.rows) == 4
        await pilot.press("slash")
        await type_and(pilot, "northwind", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [r.external_id for r in queue.rows] == ["L-7"]
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert screen.rows.slow
        screen.where = replace(screen.where, search="", stakes="low")
        screen.refresh_queue()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [r.external_id for r in queue.rows] == ["T-2"]
        assert app.focused is queue, app.focused
        await pilot.press("enter")  # open from a filtered list
        assert _item(app).item.external_id == "T-2"


async def test_live_feedback_names_the_repeated_item(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "a")
        await type_and(pilot, WHY, "enter")
        await pilot.press("a")  # the next item's dialog
        focused = app.focused
        assert isinstance(focused, JustificationBox)
        focused.insert_text_at_cursor(WHY)
        await pilot.pause()
        feedback = str(app.screen.query_one("#feedback", Static).render())
        assert "repeats your justification on T-1" in feedback


async def test_the_queue_follows_other_processes_without_a_key(
    review_store: Store, make_app: AppFactory
) -> None:
    from tests.conftest import make_draft

    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        before = {row.external_id for row in app.screen.query_one(QueueList).rows}
        with Store(review_store.path) as lead:  # another process: a lead imports
            lead.ingest([make_draft("T-99", title="Arrived while you looked")])
        await pilot.pause(1.2)  # no key pressed
        after = {row.external_id for row in app.screen.query_one(QueueList).rows}
    assert after - before == {"T-99"}


async def test_a_pasted_justification_keeps_every_line(
    review_store: Store, make_app: AppFactory
) -> None:
    from textual import events

    app = make_app(review_store)
    pasted = "Checked the refund amount against the invoice.\nThe customer's plan matches."
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "a")
        assert isinstance(app.focused, JustificationBox)
        app.post_message(events.Paste(pasted))  # as a terminal's bracketed paste arrives
        await pilot.pause()
        await pilot.press("ctrl+j", *"And the date.", "enter")
        await pilot.pause()
    (event,) = review_store.events()
    assert event.justification == pasted + "\nAnd the date."


async def test_escape_on_the_edits_justification_goes_back_to_the_editor(
    review_store: Store, make_app: AppFactory
) -> None:
    from tui.screens.dialogs import EditScreen
    from tui.widgets.safe_text_area import SafeTextArea

    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "e")
        area = app.screen.query_one(SafeTextArea)
        area.insert("Edited: ")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, JustificationDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, EditScreen)  # not thrown away: back in the editor
        assert app.screen.query_one(SafeTextArea).text.startswith("Edited: ")
        await pilot.press("escape")  # the editor's own escape discards
        await pilot.pause()
        assert isinstance(app.screen, ItemScreen)
    assert list(review_store.events()) == []


async def test_the_reused_dialog_keeps_nothing_of_the_last_answer(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        first = await approve_dialog(pilot)
        # Refused, then cancelled: its error and its text must not reach the next ask.
        await type_and(pilot, "looks good to me", "enter")
        assert "stock phrase" in str(first.query_one("#error", Static).render())
        await pilot.press("escape")
        assert not is_open(first)
        await pilot.press("a")
        assert reason_form(app) is first  # the same widgets, asked again
        box = first.query_one("#justification", JustificationBox)
        assert box.value == ""
        assert str(first.query_one("#error", Static).render()) == ""
        assert app.focused is box
        await pilot.press("ctrl+z")  # undo in the box: the cancelled text stays gone
        assert box.value == ""
        await type_and(pilot, WHY, "enter")
        next_item = _item(app).item
        assert next_item.external_id == "L-7"
        await pilot.press("a")
        assert reason_form(app) is first
        title = str(first.query_one(".dialog-title", Label).render())
        assert "L-7" in title
        assert "T-1" not in title
        await pilot.press("ctrl+z")
        assert first.query_one("#justification", JustificationBox).value == ""
        await type_and(pilot, WHY + " (second)", "enter")
        events = list(review_store.events())
        assert [(e.external_id, e.justification) for e in events] == [
            ("T-1", WHY), ("L-7", WHY + " (second)")
        ]  # fmt: skip
        assert len({e.claim_id for e in events}) == 2


async def test_the_reason_form_goes_with_the_item_screen(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await approve_dialog(pilot)
        await pilot.press("escape", "escape")  # the form, then back to the queue
        await pilot.pause(0.1)
        assert isinstance(app.screen, QueueScreen)
        assert not dialog.is_running
        assert not dialog.is_attached
    assert [e.action for e in review_store.events()] == []


async def test_while_the_reason_is_asked_no_item_command_runs(
    review_store: Store, make_app: AppFactory
) -> None:
    """Focus out of the open reason form (a click on the draft): letters run nothing.

    The form sits on the item screen, not over it, so the item's own keys are near:
    they are off while it is open, gone from the footer, and Escape closes the form
    before it would leave the item.
    """
    from tui.widgets.footer import Footer

    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await approve_dialog(pilot, WHY)
        screen = _item(app)
        screen.query_one("#draft-pane").focus()
        footer = screen.query_one(Footer)
        await pilot.pause()
        keys = footer.render_line(0).text  # as drawn after the focus move
        assert "quit" in keys, keys
        assert "approve" not in keys, keys  # off while it is open
        assert "skip" not in keys, keys
        await pilot.press("x", "s", "u", "o", "e", "a", "exclamation_mark")
        await pilot.pause()
        assert app.screen is screen  # no dialog, no confirmation
        assert screen.item.external_id == "T-1"  # not skipped
        assert review_store.get_item(screen.item.id).state == "claimed"
        said = " ".join(str(n.message) for n in app._notifications)
        assert "Typing goes into the reason under the draft" in said
        assert is_open(form)
        await pilot.press("escape")  # closes the form, stays on the item
        assert not is_open(form)
        assert app.screen is screen
        await pilot.press("a")
        assert reason_form(app) is form
    assert list(review_store.events()) == []
