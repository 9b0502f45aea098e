"""Letting go of watchers Textual keeps after their widget is gone (Textual 8.2.8).

A widget that watches another object's reactive (`self.watch(obj, name, …)`, or
`data_bind`) leaves a `(widget, callback)` entry on that object. Textual drops entries of
closed widgets only when the watched value next changes: an app's `theme`, a Footer's
`compact` — values that never change in a session. Until then each entry keeps its
whole closed widget reachable, with its styles and caches. Every `TextArea` (each
justification box) watches `App.theme`, and cost signoff memory over a day. Textual's
Footer leaks its keys the same way (`docs/upstream/textual_footer_leak.py`); signoff's
footer (`tui.widgets.footer`) draws its keys as text and has none to leak.

Signals leak the same way: an `Input` or `TextArea` subscribes to its screen's
`text_selection_started_signal`, kept in a `WeakKeyDictionary` whose value (the callback)
refers to the widget, so the entry never goes until the signal is next published. An
item screen that shows a commit-first form per item kept every form's notes box.
"""

from __future__ import annotations

from textual.dom import NoScreen
from textual.widget import Widget

_SCREEN_SIGNALS = ("text_selection_started_signal", "bindings_updated_signal")


def drop_watchers(obj: object, of: object) -> None:
    """Drop `obj`'s watcher entries of closed widgets, and of `of` (a widget closing now)."""
    watchers: dict[str, list[tuple[object, object]]] = getattr(obj, "__watchers", {})
    for entries in watchers.values():
        entries[:] = [
            (node, callback) for node, callback in entries
            if node is not of
            and not (getattr(node, "_closing", False) or getattr(node, "_closed", False))
        ]  # fmt: skip


def forget(widget: Widget) -> None:
    """Drop what the app and the screen keep of `widget` (call it when it unmounts)."""
    drop_watchers(widget.app, of=widget)
    try:
        screen = widget.screen
    except NoScreen:  # never mounted on a screen, or it is gone
        return
    for name in _SCREEN_SIGNALS:
        signal = getattr(screen, name, None)
        if signal is not None:
            signal.unsubscribe(widget)
