"""AI-off practice in the app: after a decision, sometimes a colleague's item, unaided."""

from __future__ import annotations

import dataclasses
import random

from textual.app import App
from textual.screen import Screen
from textual.widgets import Select, Static

from store import OversightPolicy, Store
from tests.tui_tests.conftest import AppFactory, reason_form
from tests.unit_tests.test_practice import bob_decides_all, labelled
from tui.screens.item import ItemScreen
from tui.screens.practice import PracticeScreen
from tui.widgets.safe_text_area import JustificationBox


class Always(random.Random):
    """A draw that always falls inside the practice share."""

    def random(self) -> float:
        return 0.0


def on_screen(app: App[None]) -> Screen[object]:
    return app.screen


async def test_practice_comes_after_a_decision_and_shows_how_it_compared(
    review_store: Store, make_app: AppFactory
) -> None:
    review_store.ingest(labelled(3, start=10))
    truth = bob_decides_all(review_store)  # bob decides everything, fill()'s items too
    review_store.ingest(labelled(1, start=20))  # one left for alice to decide
    review_store.oversight = dataclasses.replace(OversightPolicy.off(), practice=0.5)
    app = make_app(review_store, reviewer="alice")
    app.practice_rng = Always()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_next()
        await pilot.pause()
        assert isinstance(app.screen, ItemScreen)
        await pilot.press("a")
        dialog = reason_form(app)
        dialog.query_one(
            "#justification", JustificationBox
        ).text = "Alice checked the transaction log for R-20 herself"
        await pilot.press("ctrl+s")
        await pilot.pause()
        practice = on_screen(app)
        assert isinstance(practice, PracticeScreen)
        assert practice.item.kind in ("label", "score")
        shown = practice.query_one("#practice-input").query_one(Static).content
        assert "draft" not in str(shown)
        assert str(shown) == (practice.item.input or "(no input recorded)")  # the input alone
        assert not practice.query("#draft, #confidence")  # no draft pane, no confidence
        answer = truth.get(practice.item.external_id, practice.item.draft)
        practice.query_one("#answer", Select).value = answer
        await pilot.press("ctrl+s")
        outcome = str(practice.query_one("#outcome", Static).render())
        assert outcome.startswith(("✓ Right.", "✗ Not this time."))
        assert "compared with:" in outcome
        await pilot.press("ctrl+s")  # goes on
        await pilot.pause()
        assert not isinstance(app.screen, PracticeScreen)
    (month,) = review_store.practice_trend("alice")
    assert month.answers == 1
    assert (
        review_store.conn.execute(
            "SELECT count(*) FROM ledger WHERE reviewer = 'alice'"
        ).fetchone()[0]
        == 1
    )  # the practice answer is not a decision
