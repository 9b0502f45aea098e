"""The terminal goes away (SSH drops) or signoff is told to stop: the claims go back."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Literal

import pytest

from store import Store
from tests.conftest import make_draft
from tests.pty_run import run_in_pty
from tests.tui_tests.conftest import AppFactory
from tui.screens.item import ItemScreen

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _queue(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1"), make_draft("T-2")])
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "SIGNOFF_DB": ""}  # fmt: skip
    return db, env


def _held(db: Path) -> list[str]:
    with Store(db) as store:
        items = [store.find_item("support", name) for name in ("T-1", "T-2")]
        return [i.external_id for i in items if i is not None and i.state == "claimed"]


def _signoff(before: str = "") -> list[str]:
    """`signoff review` as a process (`before`: Python run first, in the same process)."""
    code = f"{before}import sys\nfrom tui.launch import main\nsys.argv[0] = 'signoff'\nmain()\n"
    return [sys.executable, "-c", code, "review"]


@pytest.mark.parametrize("how", ["SIGHUP", "silently"])
def test_a_dropped_terminal_gives_the_claim_back(
    tmp_path: Path, how: Literal["SIGHUP", "silently"]
) -> None:
    db, env = _queue(tmp_path)
    # `n` opens (claims) the first item; then the terminal is closed under the app.
    run = run_in_pty(
        [*_signoff(), "--db", str(db), "--reviewer", "ana"],
        keys=[(3.0, b"n"), (2.0, b"")], env=env, cwd=ROOT, hang_up=how, timeout=20,
    )  # fmt: skip
    assert b"(1 claimed)" in run.output  # the item was open, claimed
    assert run.returncode == 128 + signal.SIGHUP, run.output[-1500:]
    assert _held(db) == []


def test_sigterm_gives_the_claim_back_and_says_so(tmp_path: Path) -> None:
    db, env = _queue(tmp_path)
    # Sent from inside, 6 s in (after `n` opened the item), as `kill PID` would send it.
    timer = "import os, signal, threading\n"
    timer += "threading.Timer(6.0, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
    run = run_in_pty(
        [*_signoff(timer), "--db", str(db), "--reviewer", "ana"],
        keys=[(3.0, b"n")], env=env, cwd=ROOT,
    )  # fmt: skip
    screen = run.output.decode("utf-8", "replace")
    assert "(1 claimed)" in screen
    assert run.returncode == 128 + signal.SIGTERM, screen[-1500:]
    assert "stopped (SIGTERM); your claims went back to the queue" in screen
    assert "Traceback" not in screen
    assert _held(db) == []


async def test_a_second_signal_while_leaving_changes_nothing(
    review_store: Store, make_app: AppFactory
) -> None:
    app = make_app(review_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")  # an item is claimed
        screen = app.screen
        assert isinstance(screen, ItemScreen)
        app._stop(signal.SIGTERM)
        app._stop(signal.SIGHUP)  # the terminal goes too, while the app leaves
        await pilot.pause()
    assert (app.stopped_by, app.return_code) == (signal.SIGTERM, 128 + signal.SIGTERM)
    assert review_store.get_item(screen.item.id).state == "pending"
