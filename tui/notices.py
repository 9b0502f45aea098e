"""The "Recorded …" notice after a decision: only the newest one stays on screen.

Each decision said "Recorded approve on T-720. u undoes it." for five seconds; a fast
reviewer had eight of them stacked over the confidence and limits panels, and every one
but the newest named a decision the undo key would no longer take back.

Textual 8.2.8 has no public way to take one notice back, and its private one
(`App._unnotify`) leaves the notice's `ToastHolder` mounted when it removes the toast
(only a toast that times out removes its holder): one empty holder per decision piled
up in the toast rack, and the app grew ~0.1 MB and slowed with each (p90 of a decision
555 ms after 1,000). So the holder is removed here, on every screen, before the notice
is forgotten.
"""

from __future__ import annotations

from textual.app import App
from textual.notifications import Notification, Notify
from textual.widgets._toast import ToastHolder, ToastRack


class LatestNotice:
    """One notice at a time: showing the next takes the last one off the screen."""

    def __init__(self) -> None:
        self._shown: Notification | None = None

    def show(self, app: App[object], text: str) -> None:
        """Show `text` (never as markup) in place of the last notice shown through this."""
        if self._shown is not None:
            self._take_back(app, self._shown)
        self._shown = Notification(text, timeout=app.NOTIFICATION_TIMEOUT, markup=False)
        app.post_message(Notify(self._shown))

    @staticmethod
    def _take_back(app: App[object], notice: Notification) -> None:
        holder = ToastRack._toast_id(notice)
        for screen in app.screen_stack:
            for found in screen.query(ToastHolder):
                if found.id == holder:
                    found.remove()
        app._unnotify(notice)  # ignores a notice that has already timed out
