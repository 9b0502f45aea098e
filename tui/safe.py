"""Untrusted text for widgets: made visible (`providers.text.visible`) and wrapped as `Text`.

Every string from outside (drafts, inputs, titles, limits, justifications, provider
messages, file names) is handed to Rich/Textual as `Text`, never as markup: a markup
string containing `[@click=app.quit]` would fire the app's own action.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from rich.text import Text

from providers.text import json_visible, visible

__all__ = ["dump_json", "json_visible", "safe_text", "stdout_for", "visible"]


def safe_text(text: str, *, multiline: bool = False, style: str = "") -> Text:
    """`visible(text)` as a Rich `Text`: printed literally, never parsed as markup."""
    return Text(visible(text, multiline=multiline), style=style)


def dump_json(data: Any) -> str:
    """JSON for `--json` output: indented, floats to 4 places, invisibles escaped."""
    return json_visible(json.dumps(_rounded(data), ensure_ascii=False, indent=2))


def _rounded(data: Any) -> Any:
    # 583.8000000000001 ms is noise from float sums, not information.
    if isinstance(data, float):
        return round(data, 4)
    if isinstance(data, dict):
        return {key: _rounded(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_rounded(value) for value in data]
    return data


class _Filtered:
    """A text stream that cleans every string on its way to the real one."""

    def __init__(self, stream: IO[str], *, terminal: bool) -> None:
        self.stream = stream
        self.terminal = terminal

    def write(self, text: str) -> int:
        if self.terminal:
            # CSV ends lines with CR LF; a terminal needs only the LF.
            text = visible(text.replace("\r\n", "\n"), multiline=True)
        else:
            text = json_visible(text)
        return self.stream.write(text)


def stdout_for(fmt: str) -> IO[str]:
    """Standard output for an export in `fmt`, safe for whatever reads it.

    A terminal gets markers for control, bidi and invisible characters (the same
    `visible` as everywhere); a pipe gets JSON lines with those characters escaped
    (lossless), and CSV or Markdown exactly as a file would hold them.
    """
    if sys.stdout.isatty():
        return _Filtered(sys.stdout, terminal=True)  # type: ignore[return-value]
    if fmt == "jsonl":
        return _Filtered(sys.stdout, terminal=False)  # type: ignore[return-value]
    return sys.stdout
