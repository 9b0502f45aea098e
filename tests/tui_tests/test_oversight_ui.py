"""Commit-first and the two-person rule as a reviewer meets them in the app."""

from __future__ import annotations

import random
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Static

from store import Store
from store.oversight import FrictionPolicy, OversightPolicy, Rule
from tests.conftest import FakeClock, make_draft
from tests.tui_tests.conftest import AppFactory, footer_says, reason_form
from tui.screens.item import ItemScreen
from tui.screens.oversight import AfterDecision
from tui.widgets.safe_text_area import JustificationBox

WHY = "Checked the refund amount against the billing history"


async def approve(pilot: Pilot[None], why: str) -> None:
    """Approve the open item with `why` (pasted into the justification box)."""
    await pilot.press("a")
    dialog = reason_form(pilot.app)  # type: ignore[arg-type]
    dialog.query_one("#justification", JustificationBox).insert_text_at_cursor(why)
    await pilot.press("ctrl+s")
    await pilot.pause()


def oversight(**changes: object) -> OversightPolicy:
    values: dict[str, object] = {"rules": (), "catch_rate": 0.0,
                                 "friction": FrictionPolicy(enabled=False)}  # fmt: skip
    values.update(changes)
    return OversightPolicy(**values)  # type: ignore[arg-type]


async def test_a_commit_first_score_hides_the_ai_answer_until_the_reviewer_commits(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    policy = oversight(commit_first_sources=frozenset({"leads"}))
    with Store(db_path, now=clock, oversight=policy) as store:
        store.ingest([make_draft("L-1", source="leads", kind="score", draft="82")])
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            assert not screen.query_one("#draft-pane").display
            assert not screen.query_one("#confidence").display
            # The form's words (a container's own render() is an object whose repr holds
            # a memory address, which could contain "82" by chance).
            form = screen.query_one("#commit-pane")
            assert "82" not in " ".join(str(w.render()) for w in form.query(Static))
            await pilot.press("a")  # decisions wait for the judgement
            assert isinstance(app.screen, ItemScreen)
            field = screen.query_one("#commit-value", Input)
            assert app.focused is field
            field.insert_text_at_cursor("not a number")
            await pilot.press("enter")
            await pilot.pause()
            assert "not a number" in str(screen.query_one("#commit-error", Static).render())
            field.value = "40"
            await pilot.press("enter")
            await pilot.pause()
            assert screen.query_one("#draft-pane").display
            assert screen.query_one("#confidence").display
            await approve(pilot, WHY)
            assert isinstance(app.screen, AfterDecision)  # moved toward the AI: said so
            assert "ended with the AI's answer" in str(app.screen.query_one("#after-body").render())
            # The decision is recorded: the notice's keys go on, they submit or cancel nothing.
            assert footer_says(app.screen) == "esc go on"
        (event,) = store.events()
        assert event.oversight is not None
        assert event.oversight["commit_first"]["value"] == "40"


async def test_a_second_reviewer_sees_the_first_reasons_only_after_deciding(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    policy = oversight(rules=(Rule(stakes=frozenset({"high"}), second_reviewer=True),))
    first_reason = "Sam compared the refund with the invoice of the order"
    with Store(db_path, now=clock, oversight=policy) as store:
        store.ingest([make_draft("T-1", stakes="high")])
        claim = store.claim_next("sam")
        assert claim is not None
        store.decide(claim, "approve", first_reason)
        app = make_app(store, reviewer="alice")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            shown = " ".join(str(w.render()) for w in screen.query(Static))
            assert "second review" in shown
            assert first_reason not in shown
            await approve(pilot, WHY)
            after = app.screen
            assert isinstance(after, AfterDecision)
            shown = " ".join(str(w.render()) for w in after.query(Static))
            assert "You and sam agree" in shown
            assert first_reason in shown
        assert store.get_item(1).state == "decided"


async def test_a_catch_trials_notice_shows_its_draft_over_an_opaque_screen(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    draft = "Refunds take [bold]90[/bold] days.\nSecond line of the reply."
    with Store(db_path, now=clock, oversight=oversight()) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(1, 4)])
        (planted,) = store.plant_drafts(
            [(make_draft("X-1", draft=draft), "90 was 5")], random.Random(1)
        )
        held = None  # every other item decided: only the planted draft is left
        while (claim := store.claim_next("bob")) is not None:
            if claim.item_id == planted.item_id:
                held = claim
            else:
                store.decide(claim, "escalate", f"{WHY}, item {claim.item_id}")
        assert held is not None
        store.release(held)
        app = make_app(store)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter")
            await approve(pilot, WHY)
            notice = app.screen
            assert isinstance(notice, AfterDecision)
            # The draft comes with the notice, as text (not markup), since nothing of
            # the item shows through: a translucent screen drew it again under the notice.
            shown = str(notice.query_one("#after-draft", Static).render())
            assert shown == draft
            assert notice.styles.background.a == 1
            await pilot.press("enter")
            await pilot.pause()
            assert not isinstance(app.screen, AfterDecision)
