"""One frame for a whole change: lay out and draw a screen now, every changed widget in it.

Textual (8.2.8) learns which widgets changed from messages each one posts when it next
goes idle (`Widget._check_refresh`), and draws on its screen's update timer. A screen
that changes a dozen widgets in one step and lays itself out at once (the item screen
after a decision: `ItemScreen._fill`) was drawn before those messages arrived: the first
frame showed the next item under the last decision's "Recorded" line and the reason
form's footer, and a second full layout and redraw followed (~15-20 ms) before the
screen was whole (pty, 20k items).

`draw_now` does what those messages would, for every widget of the screen, and then the
layout: one frame, the whole change. It reads and clears Textual's private refresh
flags, as `_check_refresh` does; `tests/tui_tests/test_frame.py` fails if they move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.visual import VisualType
    from textual.widgets import Static


def draw_now(screen: Screen[Any]) -> None:
    """Lay out and draw `screen` now, with every change its widgets have asked for so far.

    Only for the current screen outside a batch (`App.batch_update`): otherwise the
    screen's own update timer draws it when it may.
    """
    if not screen.is_current or screen.app._batch_count or not screen.outer_size:
        return  # (no size: `_refresh_layout` would draw nothing, the flags must stay)
    for widget in screen.walk_children(Widget):
        if widget._repaint_required:
            widget._repaint_required = False
            if widget.display:
                screen._dirty_widgets.add(widget)
        if widget._layout_required:
            widget._layout_required = False
            # As `_check_refresh`: arrangements cached above a widget that changed size
            # would place the others where they were.
            for ancestor in widget.ancestors:
                if not isinstance(ancestor, Widget):
                    break
                ancestor._clear_arrangement_cache()
                ancestor._layout_updates += 1
                if not ancestor.styles.auto_dimensions:
                    break
        # The full layout below places every scrolled widget at its new offset.
        widget._scroll_required = False
    screen._refresh_layout()
    screen._layout_required = False


def put(static: Static, content: VisualType) -> None:
    """`static.update(content)`, unless it already shows exactly that.

    A screen that refills every widget for the next item (`ItemScreen._fill`) redrew
    the ones whose text had not changed too (the input the AI saw, the oversight line,
    the limits of a draft like the last): each update asks for a layout and a repaint.
    """
    if not _same(static.content, content):
        static.update(content)


def _same(old: object, new: object) -> bool:
    """Whether two contents draw alike: equal strings, or Texts alike in every part."""
    if isinstance(old, str) and isinstance(new, str):
        return old == new
    if isinstance(old, Text) and isinstance(new, Text):
        # `Text.__eq__` compares the characters and spans only, not the base style.
        return (old.plain, old.spans, old.style, old.justify, old.overflow, old.no_wrap,
                old.end, old.tab_size) == (new.plain, new.spans, new.style, new.justify,
                new.overflow, new.no_wrap, new.end, new.tab_size)  # fmt: skip
    return False


__all__ = ["draw_now", "put"]
