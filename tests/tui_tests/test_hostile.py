"""Drafts cannot trick the app: hostile strings through every screen, and through a real PTY."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import Select

from providers.base import DataLimit
from store import Store
from tests.conftest import make_draft
from tests.tui_tests.conftest import AppFactory
from tui.safe import visible
from tui.screens.dialogs import EditScreen, JustificationDialog
from tui.screens.filter import FilterScreen
from tui.screens.help import HelpScreen
from tui.screens.item import ItemScreen
from tui.widgets.safe_text_area import JustificationBox

EVIL = (
    "\x1b]0;PWNED\x07 \x1b]52;c;ZXZpbA==\x07 \x1b[2J\x1b[31m \x9b6n \u202eevil\u202c "
    "zero\u200bwidth [@click=app.quit]clickme[/] [/] [bold [link=file:///etc/passwd]x[/link]"
)
RAW = ("\x1b", "\x9b", "\u202e", "\u200b", "\x07")


def hostile_store(store: Store) -> None:
    store.ingest(
        [
            make_draft(
                "E-1" + EVIL,
                source="src\x1b]0;PWNED\x07\u202e[/]",
                title="title" + EVIL,
                draft="draft" + EVIL + "\nsecond line" + EVIL,
                input="input" + EVIL,
                model="model" + EVIL,
                stakes="high",
                data_limits=(DataLimit("kind" + EVIL, "detail" + EVIL, "high"),),
            )
        ]
    )


def current(app: App[None]) -> Screen[Any]:
    """The top screen, without mypy narrowing it across steps."""
    return app.screen


def assert_clean(svg: str, *, shown: bool = True) -> None:
    for char in RAW:
        assert char not in svg, f"{char!r} reached the screen"
    if shown:
        assert "PWNED" in svg  # shown, as text, with a visible marker


async def test_hostile_text_through_every_screen(db_path: Path, make_app: AppFactory) -> None:
    with Store(db_path) as store:
        hostile_store(store)
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            assert_clean(app.export_screenshot())  # queue
            await pilot.press("enter")
            assert isinstance(current(app), ItemScreen)
            assert_clean(app.export_screenshot())
            draft = current(app).query_one("#draft")
            shown = str(draft.render())
            assert "[@click=app.quit]clickme[/] [/] [bold" in shown  # literal, not markup
            assert "\u241b]0;PWNED\u2407" in shown
            await pilot.press("question_mark")
            assert isinstance(current(app), HelpScreen)
            await pilot.press("escape")
            await pilot.press("e")
            assert isinstance(current(app), EditScreen)
            assert_clean(app.export_screenshot())
            await pilot.press("ctrl+s")  # unchanged text differs (markers): goes on to the dialog
            await pilot.pause()
            assert isinstance(current(app), JustificationDialog)
            assert_clean(app.export_screenshot())
            focused = app.focused
            assert isinstance(focused, JustificationBox)
            focused.insert_text_at_cursor("The markers show hidden controls " + EVIL)
            await pilot.pause()
            assert_clean(app.export_screenshot())
            await pilot.press("enter")
            await pilot.pause()
            assert_clean(app.export_screenshot(), shown=False)  # toasts name the hostile id
            (event,) = store.events()
            # Pasted controls became markers on the way in: what was shown is what is stored.
            assert event.justification.endswith(visible(EVIL))
            assert app.is_running
            await pilot.press("f")
            assert isinstance(current(app), FilterScreen)
            current(app).query_one("#source", Select).expanded = True
            await pilot.pause()
            assert_clean(app.export_screenshot())
            await pilot.press("escape", "escape")
            assert app.is_running


def _drive_pty(args: list[str], keys: list[bytes], env: dict[str, str]) -> bytes:
    """Run `signoff` in a pseudo-terminal, type `keys`, and return every byte it wrote."""
    master, slave = pty.openpty()
    import fcntl

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    os.close(slave)
    output = bytearray()

    def read_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    output.extend(os.read(master, 65536))
                except OSError:
                    return

    try:
        read_for(4.0)
        for key in keys:
            os.write(master, key)
            read_for(1.0)
        read_for(1.0)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        os.close(master)
    return bytes(output)


@pytest.mark.slow
def test_no_escape_sequence_from_a_draft_reaches_the_terminal(tmp_path: Path) -> None:
    src = tmp_path / "evil.jsonl"
    record = {
        "id": "E-1", "title": "title" + EVIL, "draft": "draft" + EVIL, "input": EVIL,
        "source": "evil", "stakes": "high", "data_limits": ["limit" + EVIL],
    }  # fmt: skip
    src.write_text(json.dumps(record) + "\n", encoding="utf-8")
    db = tmp_path / "q.db"
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "110", "LINES": "30"}
    imported = subprocess.run(
        [sys.executable, "-m", "tui", "import", str(src), "--db", str(db)],
        capture_output=True, env=env, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    written = _drive_pty(["review", "--db", str(db), "--reviewer", "alice"], [b"\r", b"q"], env)
    assert b"PWNED" in written, written[-2000:]  # the draft was on screen
    for payload in (b"\x1b]0;PWNED", b"\x1b]52;c;ZXZpbA", b"\x9b6n", "\u202e".encode()):
        assert payload not in written
    assert "\u241b]0;PWNED".encode() in written  # shown as a visible marker instead
