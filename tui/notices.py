"""The "Recorded …" notice after a decision: only the newest one stays on screen.

Each decision said "Recorded approve on T-720. u undoes it." for five seconds; a fast
reviewer had eight of them stacked over the confidence and limits panels, and every one
but the newest named a decision the undo key would no longer take back.
"""

from __future__ import annotations

from textual.app import App
from textual.notifications import Notification, Notify


class LatestNotice:
    """One notice at a time: showing the next takes the last one off the screen."""

    def __init__(self) -> None:
        self._shown: Notification | None = None

    def show(self, app: App[object], text: str) -> None:
        """Show `text` (never as markup) in place of the last notice shown through this."""
        if self._shown is not None:
            # Textual has no public way to take one notice back; `_unnotify` ignores
            # one that has already timed out.
            app._unnotify(self._shown)
        self._shown = Notification(text, timeout=app.NOTIFICATION_TIMEOUT, markup=False)
        app.post_message(Notify(self._shown))
