"""Run a command in a real pseudo-terminal, type keys into it, and collect what it wrote."""

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class PtyRun:
    """What a command wrote to its terminal, and how it ended."""

    output: bytes
    returncode: int


def run_in_pty(
    argv: Sequence[str],
    *,
    keys: Sequence[tuple[float, bytes]] = (),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
    size: tuple[int, int] = (30, 100),
    hang_up: Literal["SIGHUP", "silently"] | None = None,
) -> PtyRun:
    """Start `argv` on a new PTY; after each delay in `keys` write its bytes; wait for exit.

    With `hang_up`, the PTY is closed after the last key. "SIGHUP": it is the program's
    controlling terminal, as a dropped SSH link's is, and the kernel sends SIGHUP.
    "silently": it is not (a program started with `setsid`), and no signal comes.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    process = subprocess.Popen(
        list(argv), stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        env={**(env or os.environ), "TERM": "xterm-256color"}, cwd=cwd,
        # In the child, after its new session began: this terminal becomes its own.
        preexec_fn=(lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)) if hang_up == "SIGHUP" else None,
    )  # fmt: skip
    os.close(slave)
    seen = bytearray()
    start = time.monotonic()
    pending = list(keys)
    due = start + (pending[0][0] if pending else 0)
    try:
        while time.monotonic() - start < timeout:
            if hang_up and not pending and time.monotonic() >= due:
                os.close(master)
                master = -1
                return PtyRun(bytes(seen), process.wait(timeout=timeout))
            if pending and time.monotonic() >= due:
                os.write(master, pending.pop(0)[1])
                due = time.monotonic() + (pending[0][0] if pending else 0)
            if select.select([master], [], [], 0.02)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                seen += chunk
                if not chunk and process.poll() is not None:
                    break
            elif process.poll() is not None and not pending:
                break
        else:
            raise TimeoutError(f"{argv[0]} still running after {timeout} s")
        return PtyRun(bytes(seen), process.wait(timeout=10))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if master >= 0:
            os.close(master)
