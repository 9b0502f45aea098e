"""How the screens look, at 80x24 and 160x48, with a frozen clock (pytest-textual-snapshot)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from textual.pilot import Pilot

from store import OversightPolicy, Store
from store.views import QueueFilter
from tests.tui_tests.conftest import AppFactory
from tui.widgets.safe_text_area import JustificationBox

if TYPE_CHECKING:
    from tui.app import SignoffApp

SIZES = [(80, 24), (160, 48)]


async def _item(pilot: Pilot[None]) -> None:
    await pilot.press("enter")
    await pilot.pause()


async def _dialog(pilot: Pilot[None]) -> None:
    await pilot.press("enter", "a")
    await pilot.pause()
    focused = pilot.app.focused
    assert isinstance(focused, JustificationBox)
    focused.insert_text_at_cursor("Refund matches")
    await pilot.pause()


async def _help(pilot: Pilot[None]) -> None:
    await pilot.press("enter", "question_mark")
    await pilot.pause()


async def _queue(pilot: Pilot[None]) -> None:
    await pilot.pause(0.2)  # the preview (160 columns) fills once the cursor rests


def _escalate_two(store: Store) -> None:
    """T-1 escalated by bob; L-7 rejected, taken back, escalated by carol."""
    first = store.claim_next("bob")
    assert first is not None
    store.decide(first, "escalate", "The refund is above my limit; a lead should look at it")
    second = store.claim_next("carol")
    assert second is not None
    event = store.decide(second, "reject", "The score ignores the budget line entirely",
                         reason_code="policy")  # fmt: skip
    store.retract(event.seq, "carol", "Rejected the wrong lead by mistake, sorry")
    again = store.claim_next("carol")
    assert again is not None
    store.decide(again, "escalate", "Carol wants a lead to score this one")


async def _escalations(pilot: Pilot[None]) -> None:
    store = cast("SignoffApp", pilot.app).store
    _escalate_two(store)
    # And a disagreement for a lead to adjudicate: R-3, double-reviewed by dave and erin.
    store.oversight = dataclasses.replace(OversightPolicy.off(), double_review=1.0)
    for who, verb in (("dave", "approve"), ("erin", "reject")):
        claim = store.claim_next(who)
        assert claim is not None
        store.decide(claim, verb, f"{who} looked at the transaction history in detail",  # type: ignore[arg-type]
                     reason_code="factual-error" if verb == "reject" else None)  # fmt: skip
    await pilot.press("E")
    await pilot.pause()


async def _history(pilot: Pilot[None]) -> None:
    await _escalations(pilot)
    await pilot.press("down", "enter")  # alice is no lead: L-7 opens read-only
    await pilot.pause()


async def _progress(pilot: Pilot[None]) -> None:
    store = cast("SignoffApp", pilot.app).store
    store.leads = frozenset({"dana"})
    store.assign(QueueFilter(source="leads"), "erin", by="dana")
    _escalate_two(store)
    await pilot.pause(0.2)  # the queue's preview behind the view settles first
    await pilot.press("W")
    await pilot.pause(0.3)


async def _incidents(pilot: Pilot[None]) -> None:
    store = cast("SignoffApp", pilot.app).store
    store.leads = frozenset({"dana"})
    _escalate_two(store)
    store.report_incident("carol", "The lead was scored by a rule we retired in May", [4],
                          severity="low")  # fmt: skip
    store.resolve_incident(1, "dana", "unfounded", "The May rule still applies to this region")
    store.report_incident("bob", "Customer says nobody answered for three days after this",
                          [1], kind="complaint", severity="high",
                          reported_by="customer 4411")  # fmt: skip
    await pilot.press("I")
    await pilot.pause()


async def _doubt(pilot: Pilot[None]) -> None:
    from providers.tokens import aligned
    from tests.conftest import make_draft
    from tests.tui_tests.test_doubt import DRAFT, TOKENS

    app = cast("SignoffApp", pilot.app)
    app.store.ingest([make_draft("T-9", draft=DRAFT, stakes="high", title="Refund sent",
                                 tokens=aligned(DRAFT, TOKENS))])  # fmt: skip
    item = app.store.find_item("support", "T-9")
    assert item is not None
    app.open_item(item.id)
    await pilot.pause()
    await pilot.press("d", "d")  # the second mark is the current one
    await pilot.pause()


async def _practice(pilot: Pilot[None]) -> None:
    from tests.unit_tests.test_practice import bob_decides_all, labelled
    from tui.screens.practice import PracticeScreen

    app = cast("SignoffApp", pilot.app)
    app.store.ingest(labelled(1, start=30))
    bob_decides_all(app.store)
    # The queue behind the modal is drawn first (its preview and keys), whatever the
    # timing: the snapshot is of the practice panel over a settled queue.
    await app.workers.wait_for_complete()
    await pilot.pause()
    item = app.store.find_item("risk", "R-30")
    assert item is not None
    app.push_screen(PracticeScreen(item))
    await pilot.pause()


async def _advocate(pilot: Pilot[None]) -> None:
    from textual.widgets import Input

    import tui.advocate
    from tests.conftest import make_draft
    from tests.tui_tests.test_advocate import SAID

    async def said(settings: object, item: object) -> dict[str, str]:
        return {"text": SAID, "model": "critic-1"}

    app = cast("SignoffApp", pilot.app)
    app.store.oversight = dataclasses.replace(
        OversightPolicy.off(), advocate_stakes=frozenset({"high"})
    )
    app.store.ingest([make_draft("L-9", kind="score", draft="82", stakes="high",
                                 title="Northwind lead")])  # fmt: skip
    item = app.store.find_item("support", "L-9")
    assert item is not None
    original, tui.advocate.argue = tui.advocate.argue, said
    try:
        app.open_item(item.id)
        await pilot.pause()
        app.screen.query_one("#commit-value", Input).value = "40"
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    finally:
        tui.advocate.argue = original


SCREENS: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "queue": _queue,
    "item": _item,
    "dialog": _dialog,
    "help": _help,
    "escalations": _escalations,
    "history": _history,
    "progress": _progress,
    "incidents": _incidents,
    "doubt": _doubt,
    "practice": _practice,
    "advocate": _advocate,
}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screens(
    snap_compare: Any, review_store: Store, make_app: AppFactory, screen: str,
    size: tuple[int, int],
) -> None:  # fmt: skip
    app = make_app(review_store)
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])
