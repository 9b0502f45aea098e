"""Full garbage collections that do not walk what lives all session, nor land in a key.

Every decision leaves ~7,000 objects in reference cycles (measured with
`gc.DEBUG_SAVEALL` over 20 decisions: most are the throwaway `DOMNode`s Textual builds
to style a widget's component classes, ~85 per decision, each with its caches), so
Python ran a full collection about once per decision, and each walked every object
the app holds: ~70 ms at the median, the slowest part of a decision's tail at 1M (p99
149 ms over 300 decisions in a terminal).

`gc.freeze()` moves every live object into a generation the collector no longer walks.
The app calls `settle()` twice: once the queue is on screen, and once the first item
screen (reused for every later item) is: then a full collection walks only what was
made since, ~30 ms. And it runs that collection itself, just after each next item is
shown (`collect`), instead of wherever Python's counters fall. What is frozen is freed
as usual when nothing refers to it; only cycles among frozen objects would outlive
their use, and those are the app, its screens and widgets, kept all session (or, for
an item screen left for the queue, one screen's worth, once).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

SETTLE_AFTER_S = 0.5
"""Delay after a screen appears before settling: its paint is out, the reviewer reads."""

COLLECT_AFTER_S = 0.05
"""Delay after the next item is shown before its full collection (see `collect`)."""

AUTOMATIC_EVERY = 100
"""Young-generation collections between Python's own full ones (its default: 10)."""


def settle() -> None:
    """Collect what is garbage now, then stop walking everything still alive.

    From then on Python's own full collections are spaced out (`AUTOMATIC_EVERY`): the
    app collects after each next item instead (`collect`), so outside a run of
    decisions (browsing the queue, a long read) Python's still run, ten times rarer.
    """
    unpin()
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, AUTOMATIC_EVERY)


def unpin() -> None:
    """Let go of the styles caches Textual's `lru_cache` holds after their widgets went.

    `StylesCache.get_inner_outer` (Textual 8.2.8) is an instance method under
    `functools.lru_cache(1024)`: each call's key holds the cache object itself, so up
    to 1,024 of them (with every line they last rendered, ~7 small caches a line) stay
    alive after their widgets are removed: the commit-first forms, dialogs and footer
    keys of a day of decisions. Over 100 decisions that was ~9 MB of the app's growth
    (~760 such caches at 30 decisions). Emptied with each collection, it refills with
    the widgets on screen (a few hundred two-style entries, microseconds). A
    reproduction for the upstream report: `docs/upstream/textual_styles_cache_pin.py`.
    """
    from textual._styles_cache import StylesCache

    StylesCache.get_inner_outer.cache_clear()


def collect() -> None:
    """A full collection, run just after the next item is on screen.

    With Python's own timing one landed inside ~a third of decisions, between the
    reviewer's record key and the next item (~30 ms after `settle`); here it runs while
    the reviewer starts reading the item (a key pressed in that moment waits for it).
    """
    unpin()
    gc.collect()


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside: the next item is filled, laid out and drawn.

    Python's young and middle collections took 2.5 ms of that ~35 ms at the median, 3.4
    at p90, up to 8.8 (150 decisions, timed in the app). What the next item leaves is
    collected moments later by `collect`, outside the reviewer's wait.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
