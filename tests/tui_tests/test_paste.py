"""A paste whose end marker is torn or lost leaves the keys working (`tui.paste`)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.drivers import linux_driver

from store import Store
from tests.conftest import make_draft
from tests.pty_run import run_in_pty
from tui.paste import PASTE_IDLE_S, PasteSafeParser, install

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """A hand-moved clock for the parser's idle check."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _parser(clock: Clock) -> PasteSafeParser:
    parser = PasteSafeParser()
    parser.clock = clock
    return parser


def _seen(tokens: Sequence[object]) -> list[str]:
    out = []
    for token in tokens:
        if isinstance(token, events.Paste):
            out.append(f"paste:{token.text}")
        elif isinstance(token, events.Key):
            out.append(token.key)
    return out


def _torn(parser: XTermParser) -> list[str]:
    """The end marker in two reads, more than ESCDELAY apart (the input thread ticks)."""
    tokens = list(parser.feed("\x1b[200~Checked the refund\x1b"))
    time.sleep(0.15)
    tokens += parser.tick()
    tokens += parser.feed("[201~")
    tokens += parser.feed("a")
    return _seen(tokens)


def test_a_torn_end_marker_ends_the_paste_and_the_next_key_is_a_key() -> None:
    assert _torn(_parser(Clock())) == ["paste:Checked the refund", "a"]


def test_textual_alone_stays_in_the_paste_for_good() -> None:
    # What the wrapper is for; when this fails, Textual fixed it and tui.paste can go.
    assert _torn(XTermParser()) == ["escape"]


def test_a_lost_end_marker_ends_the_paste_after_silence() -> None:
    clock = Clock()
    parser = _parser(clock)
    tokens = list(parser.feed("\x1b[200~Checked"))
    clock.now += PASTE_IDLE_S / 2
    tokens += parser.tick()
    tokens += parser.feed(" it")  # still pasting: it arrives in bursts
    clock.now += PASTE_IDLE_S / 2
    assert _seen([*tokens, *parser.tick()]) == []
    clock.now += PASTE_IDLE_S
    tokens += parser.tick()
    tokens += parser.feed("q")
    assert _seen(tokens) == ["paste:Checked it", "q"]


@pytest.mark.parametrize("cut", ["\x1b", "\x1b[", "\x1b[20", "\x1b[201"])
def test_a_half_end_marker_then_silence_ends_the_paste(cut: str) -> None:
    clock = Clock()
    parser = _parser(clock)
    tokens = list(parser.feed("\x1b[200~ok" + cut))
    clock.now += PASTE_IDLE_S + 1
    tokens += parser.tick()
    tokens += parser.feed("x")
    assert _seen(tokens) == ["paste:ok", "x"]


def test_escape_and_whole_pastes_are_unchanged() -> None:
    parser = _parser(Clock())
    tokens = list(parser.feed("\x1b[200~one\x1b[201~b\x1b[200~two\x1b[201~"))
    tokens += parser.feed("\x1b")
    time.sleep(0.15)
    tokens += parser.tick()
    tokens += parser.feed("\x1b[A")
    assert _seen(tokens) == ["paste:one", "b", "paste:two", "escape", "up"]


def test_the_app_installs_it_for_the_linux_driver() -> None:
    install()
    assert vars(linux_driver)["XTermParser"] is PasteSafeParser


@pytest.mark.slow
def test_keys_work_after_a_torn_paste_in_a_real_terminal(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1")])
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "d"),
           "XDG_CONFIG_HOME": str(tmp_path / "c"), "HOME": str(tmp_path)}  # fmt: skip
    run = run_in_pty(
        [sys.executable, "-m", "tui", "review", "--db", str(db), "--reviewer", "alice"],
        keys=[(2.5, b"/"), (0.5, b"\x1b[200~refund\x1b"), (0.4, b"[201~"), (0.5, b"\r"),
              (0.5, b"q")],
        env=env, cwd=ROOT, timeout=20,
    )  # fmt: skip
    assert run.returncode == 0, run.output.decode("utf-8", "replace")[-1500:]
