"""The terminal went away or signoff was told to stop: give the claims back, then exit.

An SSH link that drops hangs up the terminal (SIGHUP); `kill`, a service manager or a
closing tmux server sends SIGTERM. Python's default for both is to die on the spot, and
a reviewer's claimed item then stayed held from everyone for the rest of its lease (10
minutes by default). The app instead releases every claim, as quitting does, and ends
with the shell's code for that signal (128 + its number).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

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
