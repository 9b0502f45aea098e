"""The review loop as a new user drives it: no crash mid-queue, no command fired by typing.

Each test here reproduces something seen on a real run of `signoff demo`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store
from store.oversight import OversightPolicy
from tests.conftest import FakeClock, make_draft
from tests.tui_tests.conftest import AppFactory
from tui.app import SignoffApp
from tui.demo import DEMO_OVERSIGHT, load_demo
from tui.screens.dialogs import JustificationDialog
from tui.screens.item import ItemScreen
from tui.widgets.safe_text_area import JustificationBox


@pytest.fixture
def demo_store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    """The bundled demo queue under the demo's own oversight policy."""
    with Store(db_path, now=clock, oversight=DEMO_OVERSIGHT) as store:
        load_demo(store)
        yield store


def shown_id(app: SignoffApp) -> str:
    screen = app.screen
    assert isinstance(screen, ItemScreen), type(screen)
    return screen.item.external_id


async def test_skipping_through_commit_first_items_never_crashes(
    demo_store: Store, make_app: AppFactory
) -> None:
    # Seen on main: Enter on A-315, then s six times; as R-9003 (commit-first) opened
    # after another commit-first item, the app died with DuplicateIds.
    app = make_app(demo_store)
    item = demo_store.find_item("analyst", "A-315")
    assert item is not None
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_item(item.id)
        await pilot.pause()
        seen = [shown_id(app)]
        for _ in range(12):
            await pilot.press("s")
            await pilot.pause()
            if not isinstance(app.screen, ItemScreen):
                break
            seen.append(shown_id(app))
            forms_ok(app)
    assert app.return_code in (None, 0)
    assert "R-9003" in seen


def commit_first_everywhere(**changes: object) -> OversightPolicy:
    values: dict[str, object] = {
        "rules": (), "catch_rate": 0.0, "commit_first_sources": frozenset({"support"}),
    }  # fmt: skip
    values.update(changes)
    return OversightPolicy(**values)  # type: ignore[arg-type]


def forms_ok(app: SignoffApp) -> None:
    """One commit-first form at most (a kept one is hidden), shown until the judgement."""
    screen = app.screen
    assert isinstance(screen, ItemScreen), type(screen)
    forms = screen.query("#commit-pane")
    assert len(forms) <= 1
    shown = bool(forms) and screen.query_one("#commit-slot").display
    assert shown == (not screen.committed)


async def test_undo_from_a_commit_first_item_reopens_the_other_one(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    with Store(db_path, now=clock, oversight=commit_first_everywhere()) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(1, 5)])
        claim = store.claim_next("alice")
        assert claim is not None
        store.commit_judgement(claim, "expect-approve")
        store.decide(claim, "approve", "Checked the refund against the order history")
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("n")  # T-2, commit-first: its form is open
            forms_ok(app)
            await pilot.press("u")
            await pilot.press("ctrl+s")
            dialog = app.screen
            assert isinstance(dialog, JustificationDialog)
            dialog.query_one("#justification", JustificationBox).insert_text_at_cursor(
                "I approved it before reading the attachment"
            )
            await pilot.press("enter")
            await pilot.pause()
            forms_ok(app)  # T-1 again, commit-first, one form: no DuplicateIds
            assert shown_id(app) == "T-1"
            for _ in range(3):  # and skipping on through commit-first items
                await pilot.press("s")
                await pilot.pause()
                forms_ok(app)


async def test_skipping_while_friction_is_raised_never_crashes(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    policy = commit_first_everywhere(commit_first_sources=frozenset())
    with Store(db_path, now=clock, oversight=policy) as store:
        store.ingest([make_draft(f"T-{n}", confidence=0.95) for n in range(1, 12)])
        for n in range(3):  # approvals in a second each: "fast" raises friction
            claim = store.claim_next("alice")
            assert claim is not None
            clock.advance(seconds=1)
            if store.requirements(claim).commit_first:
                store.commit_judgement(claim, "expect-approve")
            why = f"Fine: I checked the amount, order date, delivery address and the plan name, {n}"
            store.decide(claim, "approve", why)
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("n")
            forms_ok(app)
            assert not app.screen.committed  # type: ignore[attr-defined]
            for _ in range(6):
                await pilot.press("s")
                await pilot.pause()
                forms_ok(app)


async def test_the_next_commit_first_item_asks_afresh_in_the_same_form(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    """Kept between items of one shape, the form holds nothing of the last answer."""
    from textual.widgets import Input, Select, Static

    from tui.screens.oversight import CommitFirst

    with Store(db_path, now=clock, oversight=commit_first_everywhere()) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(1, 4)])
        store.ingest([make_draft("S-1", kind="score", draft="82")])
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("n")
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            first = screen.query_one(CommitFirst)
            for n in (1, 2, 3):
                assert shown_id(app) == f"T-{n}"
                form = screen.query_one(CommitFirst)
                assert form is first  # the same widgets, asked again
                assert form.item.external_id == f"T-{n}"
                choice = form.query_one("#commit-value", Select)
                assert choice.value is Select.NULL
                assert app.focused is choice
                assert form.query_one("#commit-notes", Input).value == ""
                assert str(form.query_one("#commit-error", Static).render()) == ""
                assert not screen.engaged  # emptying the fields is not the reviewer typing
                if n == 1:  # an error left on the first form must not stay
                    form.query_one("#commit-notes", Input).focus()
                    await pilot.press("enter")
                    assert "own judgement" in str(form.query_one("#commit-error").render())
                    choice.focus()
                # The same keys each time record the same verdict.
                await pilot.press("enter", "down", "enter")
                await pilot.press(*f"point {n}", "enter")
                await pilot.pause()
                assert screen.committed
                judgement = store.judgement(screen.claim)
                assert judgement is not None
                assert (judgement.value, judgement.notes) == ("expect-approve", f"point {n}")
                await pilot.press("s")
                await pilot.pause()
            assert shown_id(app) == "S-1"  # another shape: a form of its own
            assert screen.query_one(CommitFirst) is not first
            assert app.focused is screen.query_one("#commit-value", Input)
            forms_ok(app)


async def test_the_form_is_emptied_once_its_judgement_is_stored_not_when_the_next_item_comes(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    """Emptied while the reviewer reads the draft: the next item's wait has no restyle."""
    from textual.widgets import Input, Select

    from tui.screens.oversight import CommitFirst

    with Store(db_path, now=clock, oversight=commit_first_everywhere()) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(1, 3)])
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("n")
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            form = screen.query_one(CommitFirst)
            await pilot.press("enter", "down", "enter", *"the refund", "enter")
            await pilot.pause()
            assert screen.committed
            judgement = store.judgement(screen.claim)
            assert judgement is not None
            assert (judgement.value, judgement.notes) == ("expect-approve", "the refund")
            # Hidden behind the draft, already empty; nothing the reviewer did is undone.
            assert form.query_one("#commit-value", Select).value is Select.NULL
            assert form.query_one("#commit-notes", Input).value == ""
            assert not screen.query_one("#commit-slot").display
            # A form shown again for another item is that item's: a late empty leaves it.
            form.query_one("#commit-notes", Input).value = "typed for the next one"
            screen._empty_form(form, form.item.id + 1)
            assert form.query_one("#commit-notes", Input).value == "typed for the next one"
            # Run late, after the reviewer left the item: the screen is gone, nothing breaks.
            app.pop_screen()
            await pilot.pause()
            screen._empty_form(form, form.item.id)


async def test_the_next_item_is_laid_out_in_the_step_that_shows_it(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    """No frame shows the next item's head over the last one's layout."""
    from tui.screens.oversight import CommitFirst

    policy = commit_first_everywhere(commit_first_sources=frozenset({"support"}))
    with Store(db_path, now=clock, oversight=policy) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(1, 4)])
        store.ingest([make_draft("M-1", source="mail")])  # no judgement first
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("n")
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            screen.query_one(CommitFirst).post_message(CommitFirst.Committed("expect-approve", ""))
            await pilot.pause()
            assert screen.committed  # the draft shows, the form is hidden
            for external_id, form in (("T-2", True), ("M-1", False), ("T-3", True)):
                item = store.find_item("mail" if form is False else "support", external_id)
                assert item is not None
                claim = store.claim_item(item.id, "alice")
                screen.show(claim, store.opened(claim))  # no await: the next frame's view
                shown = {widget.id for widget in screen._compositor.visible_widgets}
                assert ("commit-pane" in shown) is form, external_id
                assert ("draft-pane" in shown) is not form, external_id
                await pilot.pause()
