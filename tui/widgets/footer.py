"""The footer: the live keymap's keys for what has focus, drawn as one line in place.

Textual's Footer (8.2.8) is a container of one `FooterKey` widget per key, and it
rebuilds them whenever the active bindings change: after every decision (the reason
form's keys give way to the item's), every focus move and modal. Each rebuild mounted
and styled a dozen widgets a frame or two after the screen it belonged to: the next
item stood on screen for ~50 ms with the reason form's "submit, cancel" under it (150
decisions, pty, 20k items: the whole next item at 76 ms median, its first frame at 20).
Its keys also stayed reachable after each rebuild (their data bindings are watchers
kept on the Footer; `docs/upstream/textual_footer_leak.py`).

This footer is one widget that renders its keys as text. A change of bindings repaints
its one line with the screen's next update; nothing is mounted. It looks as Textual's
compact footer does (the only style it has; the same theme variables), and a click on a
key presses it, as there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen


_ENABLED = Style()
_DISABLED = Style(dim=True)


class _Drawn(NamedTuple):
    """One key as the footer last drew it."""

    start: int
    """Its first cell."""
    end: int
    """The cell after its description."""
    key: str
    enabled: bool
    said: str
    """Its display, then its description: `esc close`."""


class Footer(Widget, can_focus=False):
    """The screen's active, shown bindings: `key description`, one space between."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"footer--key", "footer--description", "footer--palette-edge"}  # noqa: RUF012
    DEFAULT_CSS = """
    Footer {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        .footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .footer--palette-edge {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, show_command_palette: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_command_palette = show_command_palette
        self._drawn: list[_Drawn] = []

    @property
    def said(self) -> list[str]:
        """Each key as last drawn, its display then its description: `esc close`."""
        return [drawn.said for drawn in self._drawn]

    def on_mount(self) -> None:
        """Repaint whenever the screen's bindings change."""
        # Immediate: the change's own frame (`tui.frame.draw_now`) has the new keys. Queued
        # (Textual's default), the next item was drawn with the reason form's keys.
        self.screen.bindings_updated_signal.subscribe(self, self._changed, immediate=True)

    def on_unmount(self) -> None:
        """Stop listening to a screen this footer no longer belongs to."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        """The keys, left to right; the command palette's at the right edge."""
        key_style = self.get_component_rich_style("footer--key")
        description_style = self.get_component_rich_style("footer--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        drawn: list[_Drawn] = []
        active = self.screen.active_bindings
        palette = self.app.COMMAND_PALETTE_BINDING
        actions: set[str] = set()
        for _node, binding, enabled, _tooltip in active.values():
            if not binding.show or (binding.key == palette and self.show_command_palette):
                continue
            if binding.action in actions:
                continue  # an action's first key only, as Textual's footer shows it
            actions.add(binding.action)
            start = line.cell_len
            dim = _ENABLED if enabled else _DISABLED
            shown = self.app.get_key_display(binding)
            line.append(shown, key_style + dim)
            if binding.description:
                line.append(" " + binding.description, description_style + dim)
            said = f"{shown} {binding.description}".strip()
            drawn.append(_Drawn(start, line.cell_len, binding.key, enabled, said))
            line.append(" ")
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette in active:
            _node, binding, enabled, _tooltip = active[palette]
            tail = Text(end="")
            tail.append("▏", self.get_component_rich_style("footer--palette-edge"))
            shown = self.app.get_key_display(binding)
            tail.append(shown, key_style)
            tail.append(" " + binding.description, description_style)
            tail.append(" ")
            gap = self.size.width - line.cell_len - tail.cell_len
            line.append(" " * max(gap, 0))
            start = line.cell_len + 1  # after the edge
            said = f"{shown} {binding.description}"
            drawn.append(_Drawn(start, start + tail.cell_len - 2, binding.key, enabled, said))
            line.append_text(tail)
        self._drawn = drawn
        return line

    def on_click(self, event: events.Click) -> None:
        """A click on a key presses it (a disabled key rings the bell), as Textual's does."""
        for start, end, key, enabled, _said in self._drawn:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return


__all__ = ["Footer"]
