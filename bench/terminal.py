"""A program in a pseudo-terminal, its screen kept by a terminal emulator (pyte).

What a reviewer sees is what the bench waits for: a key is written to the terminal, and
the time runs until the screen (as pyte draws the bytes the program wrote) shows what
the key should bring. No Pilot, no idle waits, no test hooks in the program.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte

from bench.data import SIGNOFF


class Terminal:
    """One program in a `cols` x `rows` pseudo-terminal."""

    def __init__(
        self, argv: list[str], size: tuple[int, int] = (110, 30), env: dict[str, str] | None = None
    ) -> None:
        cols, rows = size
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.started = time.perf_counter()
        """When the program was started (perf_counter)."""
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            env={**(os.environ if env is None else env), "TERM": "xterm-256color"},
        )  # fmt: skip
        os.close(slave)

    def text(self) -> str:
        """The whole screen as lines of text."""
        return "\n".join(self.screen.display)

    def line(self, n: int) -> str:
        """Row `n` of the screen."""
        return str(self.screen.display[n])

    def _pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:  # the program ended
            raise RuntimeError("the program ended:\n" + self.text()) from None
        self.stream.feed(data)
        return True

    def wait(self, seen: Callable[[Terminal], bool], timeout: float = 30.0) -> float:
        """Read until `seen(self)` holds; the time it first held (perf_counter)."""
        deadline = time.perf_counter() + timeout
        while not seen(self):
            if time.perf_counter() > deadline:
                raise TimeoutError("waited in vain; the screen:\n" + self.text())
            self._pump(0.05)
        return time.perf_counter()

    def press_until(
        self, keys: str, seen: Callable[[Terminal], bool], tries: int = 5, each: float = 1.0
    ) -> None:
        """Send `keys` until `seen(self)` holds.

        A key sent while focus is still moving is lost: it is sent again after `each` s.
        """
        for _ in range(tries):
            self.send(keys)
            try:
                self.wait(seen, each)
                return
            except TimeoutError:
                continue
        raise TimeoutError(f"no effect after {tries} tries; the screen:\n" + self.text())

    def settle(self, quiet: float = 0.05) -> None:
        """Read until the program has written nothing for `quiet` seconds."""
        while self._pump(quiet):
            pass

    def send(self, data: str) -> float:
        """Write keys (as a terminal sends them); the time they were written."""
        os.write(self.master, data.encode())
        return time.perf_counter()

    def rss_mb(self) -> float:
        """The program's resident memory now (MB)."""
        for row in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def close(self) -> None:
        """Kill the program and free the terminal."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        os.close(self.master)


def signoff(
    *args: str, size: tuple[int, int] = (110, 30), env: dict[str, str] | None = None
) -> Terminal:
    """`signoff ARGS` in a terminal, as a reviewer starts it: the installed console script."""
    return Terminal([SIGNOFF, *args], size, env)
