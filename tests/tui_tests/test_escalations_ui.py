"""The escalations view: a lead resolves from it; anyone else reads."""

from __future__ import annotations

from textual.widgets import OptionList

from store import Store
from tests.tui_tests.conftest import AppFactory
from tests.tui_tests.test_review import WHY, _item
from tui.screens.escalations import EscalationsScreen
from tui.screens.history import HistoryScreen

REASON = "Alice wants a lead to look at this refund"


def escalate_first(store: Store) -> int:
    claim = store.claim_next("alice")
    assert claim is not None
    return store.decide(claim, "escalate", REASON).seq


async def test_a_lead_resolves_an_escalation_from_the_view(
    review_store: Store, make_app: AppFactory
) -> None:
    review_store.leads = frozenset({"dana"})
    seq = escalate_first(review_store)
    app = make_app(review_store, reviewer="dana")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(app.screen, EscalationsScreen)
        assert "1 waiting" in str(app.screen.query_one("#topbar").render())
        await pilot.press("enter")
        await pilot.pause()
        screen = _item(app)
        assert screen.claim.resolves == seq
        assert "resolving the escalation by alice" in screen._head().plain
        await pilot.press("a", *WHY, "enter")
        await pilot.pause()
    events = list(review_store.events())
    assert (events[-1].reviewer, events[-1].action, events[-1].oversight) == (
        "dana", "approve", {"resolves": seq})  # fmt: skip
    assert review_store.escalations() == []


async def test_anyone_else_reads_an_escalation(review_store: Store, make_app: AppFactory) -> None:
    escalate_first(review_store)
    app = make_app(review_store, reviewer="carol")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await pilot.pause()
        listing = app.screen.query_one(OptionList)
        assert listing.option_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert review_store.get_item(app.screen.item.id).state == "escalated"
