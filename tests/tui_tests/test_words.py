"""Values and words that make sense: scales named, placeholders that fit, keys explained."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from textual.widgets import Input

from store import DecisionError, Store
from store.oversight import FrictionPolicy, OversightPolicy
from tests.conftest import FakeClock, make_draft
from tests.tui_tests.conftest import AppFactory
from tui.screens.dialogs import JustificationDialog
from tui.screens.item import ItemScreen
from tui.widgets.safe_text_area import JustificationBox

RISK = {"scale": "0\u20131 probability of fraud", "block_above": 0.5}
WHY = "Checked the card history and the merchant category carefully"


def policy(**changes: object) -> OversightPolicy:
    values: dict[str, object] = {"rules": (), "catch_rate": 0.0,
                                 "friction": FrictionPolicy(enabled=False)}  # fmt: skip
    values.update(changes)
    return OversightPolicy(**values)  # type: ignore[arg-type]


def notices(app: object) -> str:
    return " ".join(str(n.message) for n in app._notifications)  # type: ignore[attr-defined]


def test_a_value_outside_the_scale_is_refused_with_the_scale_named(
    db_path: Path, clock: FakeClock
) -> None:
    with Store(db_path, now=clock, oversight=policy(commit_first_sources={"risk"})) as store:
        store.ingest(
            [
                make_draft("R-1", source="risk", kind="score", draft="0.82", meta=RISK),
                make_draft("R-2", source="fraud", kind="score", draft="0.4", meta=RISK),
            ]
        )
        claim = store.claim_item(1, "alice")
        with pytest.raises(DecisionError, match=r"outside this score's scale \(0 to 1\)"):
            store.commit_judgement(claim, "60")
        store.commit_judgement(claim, "0.6")
        other = store.claim_item(2, "alice")
        with pytest.raises(DecisionError, match=r"150 is outside this score's scale \(0 to 1\)"):
            store.decide(other, "override", WHY, output="150", reason_code="wrong-value")
        event = store.decide(other, "override", WHY, output="0.7", reason_code="wrong-value")
        assert event.output == "0.7"


async def test_the_app_names_the_scale_and_fits_its_placeholders(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    with Store(
        db_path, now=clock, oversight=policy(commit_first_sources={"risk", "support"})
    ) as store:
        store.ingest([make_draft("R-1", source="risk", kind="score", draft="0.82", meta=RISK,
                                 stakes="high"),
                      make_draft("T-1", stakes="low")])  # fmt: skip
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            field = screen.query_one("#commit-value", Input)
            assert field.placeholder == "a number from 0 to 1"
            field.insert_text_at_cursor("0.3")
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("o")
            dialog = app.screen
            assert isinstance(dialog, JustificationDialog)
            value = dialog.query_one("#value", Input)
            assert value.placeholder == "a number from 0 to 1"
            value.insert_text_at_cursor("150")
            await pilot.press("enter", "enter", "down", "enter")  # the first reason code
            dialog.query_one("#justification", JustificationBox).insert_text_at_cursor(WHY)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is dialog  # refused, nothing recorded
            assert "0 to 1" in str(dialog.query_one("#error").render())
            assert list(store.events()) == []
            await pilot.press("escape", "s")  # the reply: its points box has no example
            await pilot.pause()
            reply = app.screen
            assert isinstance(reply, ItemScreen)
            assert reply.item.external_id == "T-1"
            assert reply.query_one("#commit-notes", Input).placeholder == ""


async def test_ctrl_c_says_how_to_quit(review_store: Store, make_app: AppFactory) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert "ctrl+c does not quit signoff: press q to quit" in notices(app)
        assert app.is_running


async def test_undo_after_a_planted_check_says_why_nothing_is_undone(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    with Store(db_path, now=clock, oversight=policy()) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(1, 6)])
        (planted,) = store.plant_drafts(
            [(make_draft("X-1", draft="Refunds take 90 days."), "refunds take 5 days")],
            random.Random(1),
        )
        claim = store.claim_item(planted.item_id, "alice")
        store.decide(claim, "approve", WHY)
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter", "u")
            await pilot.pause()
            said = notices(app)
        assert f"approve on {planted.external_id}" in said
        assert "was on a planted check: those are never undone" in said
        assert len(list(store.events())) == 1


async def test_the_models_reasoning_is_shown_apart_and_collapsed(
    db_path: Path, clock: FakeClock, make_app: AppFactory
) -> None:
    from textual.widgets import Collapsible, Static

    with Store(db_path, now=clock, oversight=policy()) as store:
        store.ingest([make_draft("T-1", meta={"reasoning": "The order was refunded twice."}),
                      make_draft("T-2")])  # fmt: skip
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, ItemScreen)
            box = screen.query_one("#reasoning-box", Collapsible)
            assert box.display
            assert box.collapsed
            assert "refunded twice" in str(screen.query_one("#reasoning", Static).render())
            assert "refunded twice" not in str(screen.query_one("#draft", Static).render())
            await pilot.press("s")
            await pilot.pause()
            assert not screen.query_one("#reasoning-box").display  # T-2 has none


def test_the_confidence_panel_says_when_placeholders_were_left_out() -> None:
    from tui.format import confidence_panel

    said = confidence_panel(0.9, "logprobs", left_out=2).plain
    assert "2 tokens came with a placeholder instead of a probability" in said
    assert "placeholder" not in confidence_panel(0.9, "logprobs").plain


def test_warning_colours_stay_readable_as_greys_under_no_color() -> None:
    # With NO_COLOR, Textual shows each colour as the grey of its brightness; the dark
    # red of "HIGH" became grey 237 on a 233 background. Light shades stay legible.
    from textual.color import Color

    from tui.format import MAGENTA, RED

    for colour in (RED, MAGENTA):
        assert Color.parse(colour).monochrome.brightness >= 0.5, colour
    assert Color.parse("red").monochrome.brightness < 0.25  # what it was
