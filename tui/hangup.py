"""The terminal went away or signoff was told to stop: give the claims back, then exit.

An SSH link that drops hangs up the terminal (SIGHUP); `kill`, a service manager or a
closing tmux server sends SIGTERM. Python's default for both is to die on the spot, and
a reviewer's claimed item then stayed held from everyone for the rest of its lease (10
minutes by default). The app instead releases every claim, as quitting does, and ends
with the shell's code for that signal (128 + its number).

A terminal can also go without a hang-up: a program with no controlling terminal
(started with `setsid`, or by a harness) whose terminal is closed. Textual's input
thread then reads end-of-file over and over, at ~95 % of a core, and the claims stay
held. The app asks the terminal once a second (`terminal_gone`) and takes a closed one
as a hang-up.
"""

from __future__ import annotations

import asyncio
import errno
import signal
import termios
from collections.abc import Callable

CHECK_EVERY_S = 1.0
"""How often the app asks whether its terminal is still there."""

STOPPING = (signal.SIGHUP, signal.SIGTERM)
"""The signals that end the app with its claims given back."""


def watch(stop: Callable[[signal.Signals], None]) -> Callable[[], None]:
    """Call `stop(signal)` on the running loop when a stopping signal comes.

    Returns the function that puts the default handlers back. Where the loop cannot
    take signal handlers (not the main thread), nothing is watched.
    """
    loop = asyncio.get_running_loop()
    watched: list[signal.Signals] = []
    for number in STOPPING:
        try:
            loop.add_signal_handler(number, stop, number)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        watched.append(number)

    def unwatch() -> None:
        for number in watched:
            loop.remove_signal_handler(number)

    return unwatch


def terminal_gone(fd: int) -> bool:
    """True once the terminal on `fd` is closed: its settings can no longer be read.

    False for anything that is not a terminal (the question does not arise there).
    """
    try:
        termios.tcgetattr(fd)
    except termios.error as error:
        return bool(error.args) and error.args[0] == errno.EIO
    return False
