"""The progress view and the leads' commands, as a lead uses them."""

from __future__ import annotations

from rich.console import Group
from textual.widgets import Static

from store import Store
from store.views import QueueFilter
from tests.tui_tests.conftest import AppFactory
from tests.unit_tests.test_cli import run
from tui.screens.progress import ProgressScreen


def some_work(store: Store) -> None:
    """Dana (a lead) gives bob the leads item; alice decides one."""
    store.leads = frozenset({"dana"})
    store.assign(QueueFilter(source="leads"), "bob", by="dana")
    claim = store.claim_next("alice")
    assert claim is not None
    store.decide(claim, "approve", "Checked the refund against the billing history")


async def test_the_progress_view_shows_each_reviewer_and_source(
    review_store: Store, make_app: AppFactory
) -> None:
    some_work(review_store)
    app = make_app(review_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("W")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ProgressScreen)
        # The body's content, not `render()`: a Group renders as its repr, in which
        # "Counting" could never appear.
        body = app.screen.query_one("#progress-body", Static).content
        assert isinstance(body, Group)  # the figures arrived (was Text "Counting…")
        screen = app.export_screenshot()
        assert "alice" in screen
        assert "bob" in screen
        await pilot.press("escape")
        assert not isinstance(app.screen, ProgressScreen)


def test_assign_progress_and_escalations_from_the_command_line(review_store: Store) -> None:
    db = str(review_store.path)
    some_work(review_store)
    review_store.close()
    config = review_store.path.parent / "lead.toml"
    config.write_text('leads = ["dana"]\n')
    refused = run("assign", "carol", "--source", "support", "--db", db, "--reviewer", "erin",
                  "--config", str(config))  # fmt: skip
    assert (refused.returncode, refused.stderr.strip()) == (
        1, "signoff: erin is not a lead: only leads assign work")  # fmt: skip
    done = run("assign", "carol", "--source", "support", "--limit", "1", "--db", db,
               "--reviewer", "dana", "--config", str(config))  # fmt: skip
    assert done.stdout.strip() == "1 pending item assigned to carol", done.stderr
    shown = run("progress", "--db", db).stdout
    rows = {
        words[0]: " ".join(w for w in words[1:] if not set(w) <= {"▇", "░"})
        for words in (line.split() for line in shown.splitlines() if line.strip())
    }
    assert rows["alice"] == "1 0 0 0 s"  # done, assigned, escalated, median
    assert rows["bob"] == "0 1 0 —"
    assert rows["carol"] == "0 1 0 —"
    assert run("escalations", "--db", db).stdout.strip() == "nothing is escalated"
