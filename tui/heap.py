"""Full garbage collections that do not walk what lives all session.

Every decision leaves ~8,900 objects in reference cycles (measured with
`gc.DEBUG_SAVEALL` over 20 decisions: most are the throwaway `DOMNode`s Textual builds
to style a widget's component classes, ~115 per decision, each with its caches), so
Python runs a full collection about once per decision, and each walked every object
the app holds: ~70 ms at the median, the slowest part of a decision's tail at 1M (p99
149 ms over 300 decisions in a terminal).

`gc.freeze()` moves every live object into a generation the collector no longer walks.
The app calls `settle()` twice: once the queue is on screen, and once the first item
screen (reused for every later item) is: then a full collection walks only what was
made since, ~30 ms. What is frozen is freed as usual when nothing refers to it; only
cycles among frozen objects would outlive their use, and those are the app, its
screens and widgets, kept all session (or, for an item screen left for the queue, one
screen's worth, once).
"""

from __future__ import annotations

import gc

SETTLE_AFTER_S = 0.5
"""Delay after a screen appears before settling: its paint is out, the reviewer reads."""


def settle() -> None:
    """Collect what is garbage now, then stop walking everything still alive."""
    gc.collect()
    gc.freeze()
