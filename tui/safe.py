"""Untrusted text for widgets: made visible (`providers.text.visible`) and wrapped as `Text`.

Every string from outside (drafts, inputs, titles, limits, justifications, provider
messages, file names) is handed to Rich/Textual as `Text`, never as markup: a markup
string containing `[@click=app.quit]` would fire the app's own action.
"""

from __future__ import annotations

from rich.text import Text

from providers.text import visible

__all__ = ["safe_text", "visible"]


def safe_text(text: str, *, multiline: bool = False, style: str = "") -> Text:
    """`visible(text)` as a Rich `Text`: printed literally, never parsed as markup."""
    return Text(visible(text, multiline=multiline), style=style)
