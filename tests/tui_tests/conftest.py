"""Fixtures for driving the real app with Pilot against a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

from keymaps import load_keymap
from providers.base import DataLimit
from store import Store
from tests.conftest import T0, FakeClock, make_draft
from tui.app import SignoffApp
from tui.screens.justify import JustificationForm
from tui.widgets.footer import Footer
from tui.widgets.safe_text_area import JustificationBox

AppFactory = Callable[..., SignoffApp]


def reason_form(app: SignoffApp) -> JustificationForm[Any]:
    """The item screen's reason form (approve, escalate), open and focused in its box."""
    form = app.screen.query_one("#reason-form", JustificationForm)
    assert form.display, "the reason form is closed"
    assert isinstance(app.focused, JustificationBox), app.focused
    return form


def is_open(form: Widget) -> bool:
    """Whether `form` is shown (a function: an `assert form.display` would narrow it)."""
    return bool(form.display)


def footer_says(screen: Screen[Any]) -> str:
    """What the screen's footer shows, key then word: `esc go on`."""
    return "  ".join(screen.query_one(Footer).said)  # as last drawn


async def approve_dialog(pilot: Pilot[None], text: str = "") -> JustificationForm[Any]:
    """Open the first item, then approve it: its reason form with `text` in the box."""
    await pilot.press("enter", "a")
    form = reason_form(pilot.app)  # type: ignore[arg-type]
    form.query_one("#justification", JustificationBox).insert_text_at_cursor(text)
    return form


@pytest.fixture
def review_store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    """A queue with one item of each shape the screens care about."""
    with Store(db_path, now=clock) as store:
        fill(store)
        yield store


@pytest.fixture
def team_review_store(pg_url: str, clock: FakeClock) -> Iterator[Store]:
    """The same queue on a team database (PostgreSQL)."""
    with Store(pg_url, now=clock) as store:
        fill(store)
        yield store


def fill(store: Store) -> None:
    """One item of each shape the screens care about."""
    import datetime as dt

    store.ingest(
        [
            make_draft("T-1", stakes="high", created_at=T0 - dt.timedelta(hours=5)),
            make_draft(
                "L-7",
                source="leads",
                kind="score",
                draft="82",
                title="Northwind: inbound demo request",
                stakes="medium",
                confidence=None,
                confidence_basis="none",
                data_limits=(),
                created_at=T0 - dt.timedelta(hours=4),
            ),
            make_draft(
                "R-3",
                source="risk",
                kind="label",
                draft="legitimate",
                title="Transaction 4411-29",
                stakes="medium",
                meta={"labels": ["legitimate", "suspicious", "fraud"]},
                data_limits=(DataLimit("context", "thread not included", "info"),),
                created_at=T0 - dt.timedelta(hours=3),
            ),
            make_draft("T-2", stakes="low", created_at=T0 - dt.timedelta(hours=2)),
        ]
    )


@pytest.fixture
def make_app(clock: FakeClock) -> AppFactory:
    """Build the app as the CLI does, with a frozen clock and a stable db label."""

    def build(store: Store, reviewer: str = "alice", **overrides: Any) -> SignoffApp:
        keymap = load_keymap(overrides.pop("keymap", "default"), overrides.pop("keys", None))
        return SignoffApp(
            store, reviewer=reviewer, keymap=keymap, now=clock, db_label="queue.db", **overrides
        )

    return build
