"""Keys after a paste: a torn or lost end marker must not swallow all later input.

A terminal wraps pasted text in `ESC[200~ … ESC[201~`. Textual 8.2.8's parser (run in
the driver's input thread) treats an `ESC` that is not followed within `ESCDELAY`
(100 ms) by the rest of a sequence as the Escape key — also inside a paste. When the
end marker comes in two reads with a pause between them (over SSH the packets can
split it; in the app the input thread can be held up for longer than 100 ms by a
garbage collection on the UI thread), the `ESC` of the end marker times out, the rest
of the marker is taken as pasted text, and the parser stays in paste mode for good:
every later key, Escape and Ctrl+C included, goes into a paste that never ends, and
the app looks frozen with its claim held. The bench met it once in ~2,000 pasted
justifications (the reviewer's `a` did nothing, nor Escape); terminals that drop the
end marker (ConPTY, some after sleep/wake) give the same dead app.

`PasteSafeParser` keeps Textual's parser and changes two things, from the raw bytes it
is fed: inside a paste an `ESC` waits for the rest of the end marker however long it
takes, and a paste that has had no input for `PASTE_IDLE_S` is ended as if its marker
had come (what was pasted so far arrives as a paste; later keys are keys again).
`install()` makes the Linux driver use it; `docs/upstream/textual_paste_stuck.py`
reproduces the problem for an upstream report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from time import monotonic
from typing import Any

from textual._xterm_parser import XTermParser

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"

PASTE_IDLE_S = 2.0
"""Silence inside a paste after which its end marker is taken as lost. A real paste
streams in bursts well under this; a reviewer pounding keys at a frozen screen keeps
it open (their keys land in the field as pasted text, where they can see them)."""


def _missing_end(tail: str) -> str:
    """What completes the end marker, given the last characters fed."""
    for size in range(len(PASTE_END) - 1, 0, -1):
        if tail.endswith(PASTE_END[:size]):
            return PASTE_END[size:]
    return PASTE_END


class PasteSafeParser(XTermParser):
    """Textual's terminal parser with paste mode that always ends (see the module)."""

    clock: Callable[[], float] = staticmethod(monotonic)
    """The time source (tests replace it)."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self.pasting = False
        """Inside a bracketed paste, as far as the bytes fed so far tell."""
        self._tail = ""
        self._fed_at = 0.0

    def feed(self, data: str) -> Iterable[Any]:
        """Note where pastes start and end, then parse as Textual does."""
        if data:
            self._fed_at = self.clock()
            # Markers can be split across reads: look at the end of the last read too.
            seen = self._tail + data
            start, end = seen.rfind(PASTE_START), seen.rfind(PASTE_END)
            if start != end:
                self.pasting = start > end
            self._tail = seen[-(len(PASTE_END) - 1) :]
        return super().feed(data)

    def tick(self) -> Iterable[Any]:
        """Textual's escape timeout, except inside a paste; a silent paste is ended."""
        if not self.pasting:
            return super().tick()
        if self.clock() - self._fed_at < PASTE_IDLE_S:
            return ()  # an ESC here starts the end marker: wait for the rest of it
        return list(self.feed(_missing_end(self._tail)))


def install() -> None:
    """Make Textual's Linux driver parse input with `PasteSafeParser` (idempotent).

    The driver builds its parser from its module's `XTermParser` name in the input
    thread; there is no hook to pass one in.
    """
    from textual.drivers import linux_driver

    vars(linux_driver)["XTermParser"] = PasteSafeParser
