"""Letting go of watchers Textual keeps after their widget is gone (Textual 8.2.8).

A widget that watches another object's reactive (`self.watch(obj, name, …)`, or
`data_bind`) leaves a `(widget, callback)` entry on that object. Textual drops entries of
closed widgets only when the watched value next changes: an app's `theme`, a Footer's
`compact` — values that never change in a session. Until then each entry keeps its
whole closed widget reachable, with its styles and caches. Two cases cost signoff memory
over a day: the FooterKeys of every recomposed Footer (`tui.widgets.footer`), and every
`TextArea` (each justification box), which watches `App.theme`. A reproduction for the
upstream report is `docs/upstream/textual_footer_leak.py`.
"""

from __future__ import annotations


def drop_watchers(obj: object, of: object | None = None) -> None:
    """Drop `obj`'s watcher entries of closed widgets, and of `of` (a widget closing now)."""
    watchers: dict[str, list[tuple[object, object]]] = getattr(obj, "__watchers", {})
    for entries in watchers.values():
        entries[:] = [
            (node, callback) for node, callback in entries
            if node is not of
            and not (getattr(node, "_closing", False) or getattr(node, "_closed", False))
        ]  # fmt: skip
