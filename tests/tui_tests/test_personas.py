"""Three scripted reviewers work the same seeded queue through the real app.

A rubber-stamper approves everything within a second and recycles one justification; a
slow approver reads and writes its own words but approves everything; a careful
reviewer reads, writes a different reason each time and rejects what is wrong.
The oversight signals and the catch-trial statistics must tell them apart.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.pilot import Pilot
from textual.widget import Widget

from keymaps import load_keymap
from providers.base import DataLimit
from store import Store
from store.export import ExportFilter, stats_for
from store.oversight import FrictionPolicy, OversightPolicy, reading_ms
from store.stats import ReviewerStats
from tests.conftest import T0, FakeClock, make_draft
from tests.tui_tests.conftest import reason_form
from tui.app import SignoffApp
from tui.screens.dialogs import JustificationDialog
from tui.screens.item import ItemScreen
from tui.screens.oversight import AfterDecision
from tui.widgets.safe_text_area import JustificationBox

SEED = 20261124
REAL = 23
POLICY = OversightPolicy(rules=(), catch_rate=0.15, friction=FrictionPolicy())
"""4 planted among 23 real drafts: the fewest for which 0 of 4 and 4 of 4 have 95 %
Wilson intervals that do not overlap."""

CLAUSES = [
    "the refund total matches the invoice", "the order date agrees with the CRM",
    "tone is calm and apologetic", "no promise beyond the refund policy",
    "the customer's name is spelled right", "the delivery window is realistic",
    "the VAT line is explained plainly", "it links the right help article",
    "the reply answers the second question too", "the currency is euros as ordered",
    "the tracking number is the current one", "nothing from the internal notes leaks",
    "the discount code exists and is valid", "the plan named is the one on the account",
    "the sign-off names the team, not a bot", "the address is the updated one",
    "the reply does not blame the courier", "the renewal date is correct",
    "the credit is applied to the next bill", "the ticket number is quoted",
    "the warranty period is stated right", "the opening hours are current",
]  # fmt: skip
"""Distinct things a careful reviewer checks; no two of their justifications share one
within the repeat window."""


def seeded_queue(store: Store) -> dict[int, str]:
    """Seed the real drafts (a quarter with a real problem) and the planted ones.

    Returns the oracle: item id → "reject" for what a careful reader would catch.
    """
    rng = random.Random(SEED)
    drafts = []
    for n in range(REAL):
        flawed = n % 4 == 3
        drafts.append(
            make_draft(
                f"T-{2000 + n}",
                draft=f"Hello, your refund of {20 + n} EUR for order {7000 + n} is issued "
                "and will reach your account within five working days. Sorry for the wait.",
                confidence=0.62 if flawed else round(rng.uniform(0.86, 0.99), 2),
                data_limits=(DataLimit("stale", "order snapshot is a day old", "warn"),)
                if flawed else (),
                created_at=T0 - dt.timedelta(hours=REAL - n),
                meta={"problem": "wrong amount"} if flawed else {},
            )
        )  # fmt: skip
    store.ingest(drafts)
    planted = store.plant(POLICY.catch_rate, rng)
    assert len(planted) == 4
    oracle = {p.item_id: "reject" for p in planted}
    for item_id, meta in store.conn.execute("SELECT id, meta FROM items"):
        if "wrong amount" in meta:
            oracle[item_id] = "reject"
    return oracle


@dataclass
class Persona:
    """How one scripted reviewer behaves."""

    name: str
    seconds_on: Callable[[int], float]
    """Seconds spent on an item, given its draft's length."""
    decide: Callable[[int, str, int], tuple[str, str]]
    """(item id, external id, decision number) → (action, justification)."""


def rubber_stamper() -> Persona:
    def decide(_item: int, external_id: str, n: int) -> tuple[str, str]:
        # One stock sentence with the id changed: never an exact repeat, always near one.
        # Padded to the longest minimum friction asks for: typing is cheaper than reading.
        return "approve", (
            f"Checked this reply and it reads fine to me, all good, nothing to change here, "
            f"{external_id}"
        )

    return Persona("stamp", lambda _chars: 0.8, decide)


def slow_approver() -> Persona:
    def decide(_item: int, external_id: str, n: int) -> tuple[str, str]:
        # Reads as long as the careful one and never repeats itself, but approves all.
        first, second = CLAUSES[(3 * n) % len(CLAUSES)], CLAUSES[(3 * n + 2) % len(CLAUSES)]
        return "approve", f"Went through {external_id} line by line: {first}; {second}"

    friction = FrictionPolicy()
    return Persona("slow", lambda chars: reading_ms(friction, chars) / 1000 + 25, decide)


def careful(oracle: dict[int, str]) -> Persona:
    def decide(item_id: int, external_id: str, n: int) -> tuple[str, str]:
        first, second = CLAUSES[(2 * n) % len(CLAUSES)], CLAUSES[(2 * n + 1) % len(CLAUSES)]
        if oracle.get(item_id) == "reject":
            return "reject", f"Rejecting {external_id}: not true here that {first}"
        return "approve", f"Read it through: {first}, and {second}"

    friction = FrictionPolicy()
    return Persona("care", lambda chars: reading_ms(friction, chars) / 1000 + 25, decide)


async def work_through(
    app: SignoffApp, pilot: Pilot[None], persona: Persona, clock: FakeClock
) -> int:
    """Open the first item and decide every item until the queue is empty."""
    await pilot.press("enter")
    decided = 0
    while isinstance(app.screen, ItemScreen):
        screen = app.screen
        item = screen.item
        if not screen.committed:
            # Own judgement first: pick the first verdict, then Enter in the notes box.
            await pilot.press("enter", "down", "enter")
            await pilot.press("enter")
            await pilot.pause()
            assert screen.committed, "the judgement form did not record"
        clock.advance(seconds=persona.seconds_on(len(item.draft)))
        action, why = persona.decide(item.id, item.external_id, decided)
        await pilot.press("a" if action == "approve" else "x")
        if action == "reject":
            dialog: Widget = app.screen
            assert isinstance(dialog, JustificationDialog)
            await pilot.press("enter", "down", "enter")  # first reason code: factual-error
        else:
            dialog = reason_form(app)
        field = dialog.query_one("#justification", JustificationBox)
        field.insert_text_at_cursor(why)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, JustificationDialog), why
        assert not (screen.is_attached and screen.query_one("#reason-form").display), why
        decided += 1
        while isinstance(app.screen, AfterDecision):
            await pilot.press("enter")
            await pilot.pause()
    return decided


async def run_persona(db: Path, persona_for: Callable[[dict[int, str]], Persona]) -> ReviewerStats:
    clock = FakeClock()
    with Store(db, now=clock, oversight=POLICY) as store:
        oracle = seeded_queue(store)
        persona = persona_for(oracle)
        app = SignoffApp(
            store, reviewer=persona.name, keymap=load_keymap("default"), now=clock,
            db_label="queue.db",
        )  # fmt: skip
        async with app.run_test(size=(80, 24)) as pilot:
            decided = await work_through(app, pilot, persona, clock)
        assert decided == REAL + 4
        assert store.verify_chain().ok
        figures = stats_for(store.conn, ExportFilter(include_planted=True))
    who: ReviewerStats = figures.reviewers[persona.name]
    return who


async def test_signals_and_catch_rates_separate_a_rubber_stamper_from_a_careful_reviewer(
    tmp_path: Path,
) -> None:
    stamp = await run_persona(tmp_path / "a.db", lambda _oracle: rubber_stamper())
    care = await run_persona(tmp_path / "b.db", careful)
    slow = await run_persona(tmp_path / "c.db", lambda _oracle: slow_approver())

    # Catch trials: the same four planted drafts, none caught versus all caught.
    assert (stamp.planted_seen, stamp.planted_caught) == (4, 0)
    assert (care.planted_seen, care.planted_caught) == (4, 4)
    stamp_ci, care_ci = stamp.catch_interval, care.catch_interval
    assert stamp_ci is not None
    assert care_ci is not None
    assert stamp_ci[1] < care_ci[0]  # the 95 % intervals do not overlap

    # Friction: raised again and again for one, never for the other.
    assert stamp.friction_raised >= 3
    assert set(stamp.signals) == {"fast", "streak", "repeats"}
    assert care.friction_raised == 0

    # The one who reads slowly in their own words and approves everything: caught
    # nothing, and the streak is what says so (tests/unit_tests/test_rubber_stamp.py
    # follows all three over 600 decisions).
    assert (slow.planted_seen, slow.planted_caught) == (4, 0)
    assert set(slow.signals) == {"streak"}
    assert slow.friction_raised >= 1
    assert stamp.commit_first >= 5  # friction made items open commit-first
    assert care.commit_first == 0

    # Habits the statistics show a lead.
    assert stamp.longest_approve_streak >= 25 > care.longest_approve_streak
    assert stamp.p10_ms is not None
    assert care.p10_ms is not None
    assert stamp.p10_ms < 1000 < care.p10_ms
