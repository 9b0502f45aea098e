"""Textual's Footer without its two costs (Textual 8.2.8): every screen uses this one.

**It leaked.** Each `FooterKey` a Footer composes is data-bound to the Footer's
`compact`; the binding is a watcher kept on the Footer, and Textual prunes closed
watchers only when `compact` itself changes — which it never does. So every recompose
(each time the active bindings change: a modal opening or closing, a decision, a focus
move) left the old keys reachable: a bare app with a modal and a Footer kept 2 more per
cycle, signoff ~20 per decision (RSS +0.43 MB and longer full GC pauses per decision
over a day). This Footer drops the watchers of its closed keys after each recompose
(`tui.widgets.watchers`). A reproduction for the upstream report is
`docs/upstream/textual_footer_leak.py`; `tests/tui_tests/test_footer.py` fails when
Textual fixes it (then that part can go).

**It rebuilt itself for nothing.** The screen signals "bindings changed" on every focus
move and every modal opening or closing, and the Footer recomposes each time, even when
it would show the same keys; each new key is then styled on its own (its `compact`
binding sets a class). Profiled over 60 decisions in the app, that was 4.0 s of 11 s of
restyling: ~66 ms per decision. This Footer recomposes only when what it shows changes,
and gives its keys their `-compact` class before they mount (the binding then finds it
set and restyles nothing): another ~16 ms per decision, from the modals' footers.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

from tui.widgets.watchers import drop_watchers


class Footer(TextualFooter):
    """`textual.widgets.Footer` that recomposes only for a change, and lets go of old keys."""

    _shown: Hashable = None

    def _showing(self) -> Hashable:
        """Everything `compose` reads, as one comparable value."""
        if not self._bindings_ready:
            return None
        return (
            self.compact, self.show_command_palette, self.combine_groups,
            tuple(
                (binding.key, self.app.get_key_display(binding), binding.description,
                 binding.action, binding.show, binding.group, enabled, tooltip)
                for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            ),
        )  # fmt: skip

    def compose(self) -> ComposeResult:
        """Textual's keys, each with its `-compact` class already set."""
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.set_class(self.compact, "-compact", update=False)
            yield widget

    async def recompose(self) -> None:
        """Recompose if the keys shown would change, then let go of the removed ones."""
        if not self.is_attached or self._pruning:
            return  # removed since the recompose was asked for (as Widget.recompose)
        showing = self._showing()
        if showing is not None and showing == self._shown:
            return
        self._shown = showing
        await super().recompose()
        self.prune_watchers()

    def prune_watchers(self) -> None:
        """Drop watchers whose widget has closed (the removed keys' data bindings)."""
        drop_watchers(self)
