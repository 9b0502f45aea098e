"""Textual's Footer without its leak (Textual 8.2.8): every screen uses this one.

Each `FooterKey` a Footer composes is data-bound to the Footer's `compact`; the binding
is a watcher kept on the Footer, and Textual prunes closed watchers only when `compact`
itself changes — which it never does. So every recompose (each time the active bindings
change: a modal opening or closing, a decision, a focus move) left the old keys
reachable: a bare app with a modal and a Footer kept 2 more per cycle, signoff ~20 per
decision (RSS +0.43 MB and longer full GC pauses per decision over a day). This Footer
drops the watchers of its closed keys after each recompose. A reproduction for the
upstream report is `docs/upstream/textual_footer_leak.py`; `tests/tui_tests/test_footer.py`
fails when Textual fixes it (then this class can go).
"""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter

from tui.widgets.watchers import drop_watchers


class Footer(TextualFooter):
    """`textual.widgets.Footer`, pruning its closed keys' watchers after a recompose."""

    async def recompose(self) -> None:
        """Recompose, then let go of the keys that were removed."""
        await super().recompose()
        self.prune_watchers()

    def prune_watchers(self) -> None:
        """Drop watchers whose widget has closed (the removed keys' data bindings)."""
        drop_watchers(self)
