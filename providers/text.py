"""Make untrusted text visible: no control, bidi or invisible character survives.

The one function every display path uses (the app, the CLI, Markdown reports).
Rich and Textual strip only a few control characters; ESC sequences, C1 controls and
NUL reach the terminal, so a draft could rewrite the screen. This module has no
dependencies, so every layer can use it.
"""

from __future__ import annotations

import re
from typing import Final

# Cf (format) characters listed by hand: building the class from unicodedata at
# import would cost start-up time; a test checks this list covers every Cf.
_INVISIBLE: Final = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e"
    "\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_SINGLE_LINE: Final = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE}]")
_MULTI_LINE: Final = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE}]")


def _marker(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Control Pictures: ␀ … ␛ …
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\u27e8U+{code:04X}\u27e9"  # ⟨U+202E⟩


def visible(text: str, *, multiline: bool = False) -> str:
    """Replace control, bidi and invisible characters with visible markers.

    Args:
        text: Untrusted text.
        multiline: Keep newlines and tabs (for drafts and inputs); otherwise they
            become markers too, so one record cannot spill over several lines.
    """
    pattern = _MULTI_LINE if multiline else _SINGLE_LINE
    return pattern.sub(_marker, text)


def is_visible(text: str, *, multiline: bool = False) -> bool:
    """Whether `visible` would leave the text as it is (one search, no copy)."""
    return (_MULTI_LINE if multiline else _SINGLE_LINE).search(text) is None


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_visible(json_text: str) -> str:
    """JSON text with every control, bidi and invisible character written as a `u` escape.

    Lossless (a JSON reader gets the same strings back), unlike `visible`; newlines
    between JSON lines stay. For JSON printed where a terminal may show it.
    """
    return _MULTI_LINE.sub(_json_escape, json_text)


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`1 event`, `2 events`, `1,204 events`: a count with its noun in the right number."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
