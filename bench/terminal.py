"""A program in a pseudo-terminal, its screen kept by a terminal emulator (pyte).

What a reviewer sees is what the bench waits for: a key is written to the terminal, and
the time runs until the bytes that make the screen (as pyte draws them) show what the
key should bring have arrived. No Pilot, no idle waits, no test hooks in the program.

The arrival, not the moment pyte had drawn them: pyte, in Python, takes ~0.75 µs a byte
(~10 ms for a 13 KB frame of ours, ~0.3 ms for a bare app's), where a terminal written
in C takes well under a millisecond. Timed after parsing, every figure paid that per
byte, ours far more than a yardstick's. A reader thread takes the bytes as they come and
stamps them; the screen is drawn from them in order.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty, Queue

import pyte

from bench.data import SIGNOFF

# A reader needs the GIL to stamp a chunk: at the default 5 ms switch interval a chunk
# that came while pyte was drawing the last one could wait that long (bench processes
# only: this module is not part of signoff).
sys.setswitchinterval(0.0005)


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
        self.arrived = self.started
        """When the bytes last drawn on the screen arrived (perf_counter)."""
        self._chunks: Queue[tuple[float, bytes] | None] = Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Take the program's bytes as they come, each chunk stamped with its arrival."""
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:  # the program ended, or the terminal was closed
                data = b""
            if not data:
                self._chunks.put(None)
                return
            self._chunks.put((time.perf_counter(), data))

    def text(self) -> str:
        """The whole screen as lines of text."""
        return "\n".join(self.screen.display)

    def line(self, n: int) -> str:
        """Row `n` of the screen."""
        return str(self.screen.display[n])

    def _pump(self, timeout: float) -> bool:
        try:
            chunk = self._chunks.get(timeout=timeout)
        except Empty:
            return False
        if chunk is None:
            self._chunks.put(None)  # and for any later call
            raise RuntimeError("the program ended:\n" + self.text())
        self.arrived, data = chunk
        self.stream.feed(data)
        return True

    def wait(self, seen: Callable[[Terminal], bool], timeout: float = 30.0) -> float:
        """Read until `seen(self)` holds; when the bytes that made it hold arrived.

        If it holds at once, the time of the call (perf_counter).
        """
        deadline = time.perf_counter() + timeout
        when = time.perf_counter()
        while not seen(self):
            if time.perf_counter() > deadline:
                raise TimeoutError("waited in vain; the screen:\n" + self.text())
            if self._pump(0.05):
                when = self.arrived
        return when

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
        # The reader ends when the terminal's far side is gone (EIO); closed while it
        # still read, its descriptor's number could go to the next terminal's, and the
        # old reader take the new program's bytes.
        self._reader.join(5)
        os.close(self.master)


def signoff(
    *args: str, size: tuple[int, int] = (110, 30), env: dict[str, str] | None = None
) -> Terminal:
    """`signoff ARGS` in a terminal, as a reviewer starts it: the installed console script."""
    return Terminal([SIGNOFF, *args], size, env)
