"""Evidence in the app: incidents reported and resolved, checkpoints signed as decided."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.screen import Screen
from textual.widgets import Select

from store import Store
from tests.tui_tests.conftest import AppFactory, reason_form
from tui.screens.dialogs import ConfirmScreen, JustificationDialog
from tui.screens.history import HistoryScreen
from tui.screens.incidents import IncidentsScreen
from tui.widgets.safe_text_area import JustificationBox

WHY = "Checked the refund against the billing history"
WHAT = "The customer was refunded twice after this approval"


def on_screen(app: App[None]) -> Screen[object]:
    """The current screen, read afresh (mypy keeps an earlier `isinstance` otherwise)."""
    return app.screen


async def test_a_reviewer_reports_from_the_history_and_a_lead_resolves(
    review_store: Store, make_app: AppFactory
) -> None:
    claim = review_store.claim_next("bob")
    assert claim is not None
    approved = review_store.decide(claim, "approve", WHY)
    app = make_app(review_store, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_item(approved.item_id)
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("R")
        dialog = on_screen(app)
        assert isinstance(dialog, JustificationDialog)
        dialog.query_one("#value", Select).value = "complaint"
        dialog.query_one("#reason", Select).value = "high"
        box = dialog.query_one("#justification", JustificationBox)
        box.focus()
        await pilot.press("q", *"uick")  # typing: no single-key command fires
        assert on_screen(app) is dialog
        box.text = WHAT
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
    (made,) = review_store.incidents()
    assert (made.report.kind, made.report.severity, made.report.recorded_by) == (
        "complaint", "high", "alice",
    )  # fmt: skip
    assert made.report.decisions == (approved.seq,)
    assert made.report.text == WHAT

    review_store.leads = frozenset({"dana"})
    lead = make_app(review_store, reviewer="dana")
    async with lead.run_test(size=(80, 24)) as pilot:
        await pilot.press("I")
        assert isinstance(lead.screen, IncidentsScreen)
        await pilot.press("enter")
        assert isinstance(lead.screen, ConfirmScreen)
        await pilot.press("escape")  # changed her mind: nothing recorded
        assert isinstance(on_screen(lead), IncidentsScreen)
        assert review_store.incidents()[0].status == "open"
        await pilot.press("enter", "ctrl+s")
        dialog = on_screen(lead)
        assert isinstance(dialog, JustificationDialog)
        dialog.query_one("#value", Select).value = "confirmed"
        dialog.query_one(
            "#justification", JustificationBox
        ).text = "The payments log shows the refund went out twice"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(on_screen(lead), IncidentsScreen)
    assert review_store.incidents()[0].status == "confirmed"
    assert review_store.contradicted() == {approved.seq}


async def test_a_reviewer_who_is_not_a_lead_reads_incidents_only(
    review_store: Store, make_app: AppFactory
) -> None:
    claim = review_store.claim_next("bob")
    assert claim is not None
    approved = review_store.decide(claim, "approve", WHY)
    review_store.report_incident("bob", WHAT, [approved.seq])
    app = make_app(review_store, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("I", "enter")
        await pilot.pause()
        assert isinstance(app.screen, IncidentsScreen)  # no dialog
        assert any("A lead resolves" in str(n.message) for n in app._notifications)
    assert review_store.incidents()[0].status == "open"


async def test_a_leads_app_signs_the_checkpoints_due_after_a_decision(
    review_store: Store, make_app: AppFactory, tmp_path: Path
) -> None:
    from store.checkpoint import generate_key
    from tui.autocheckpoint import CheckpointPlan, signed_positions
    from tui.config import Settings

    secret, _ = generate_key("dana")
    key = tmp_path / "dana.key"
    key.write_text(secret)
    plan = CheckpointPlan(key, 1, tmp_path / "notes")
    app = make_app(review_store, reviewer="dana", settings=Settings(checkpoints=plan))
    async with app.run_test(size=(80, 24)) as pilot:
        item = review_store.find_item("support", "T-2")
        assert item is not None
        app.open_item(item.id)
        await pilot.pause()
        await pilot.press("a")
        dialog = reason_form(app)
        dialog.query_one("#justification", JustificationBox).text = WHY + " for T-2"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    origin = review_store.checkpoint().origin
    assert signed_positions(plan, origin) == [1]
