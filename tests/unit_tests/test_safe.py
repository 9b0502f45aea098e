"""Untrusted text is made visible, never interpreted."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from rich.console import Console

from tui.safe import safe_text, visible


def test_every_format_character_is_marked() -> None:
    missed = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and visible(chr(code)) == chr(code)
    ]
    assert missed == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\u241b[2J"),
        ("\x1b]52;c;ZXZpbA==\x07", "\u241b]52;c;ZXZpbA==\u2407"),
        ("a\x00b", "a\u2400b"),
        ("\x9b31m", "\u27e8U+009B\u27e931m"),
        ("abc\u202eevil", "abc\u27e8U+202E\u27e9evil"),
        ("zero\u200bwidth", "zero\u27e8U+200B\u27e9width"),
        ("del\x7f", "del\u2421"),
        ("line\r\nnext", "line\u240d\u240anext"),
        ("tag\U000e0041", "tag\u27e8U+E0041\u27e9"),
    ],
)
def test_controls_become_markers(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_multiline_keeps_newlines_and_tabs_only() -> None:
    assert visible("a\n\tb\rc", multiline=True) == "a\n\tb\u240dc"


def test_plain_text_is_untouched() -> None:
    text = "Zoë paid €240 — 返金 ✓ [bold]not markup[/]"
    assert visible(text) == text


def test_markup_in_untrusted_text_is_printed_literally() -> None:
    console = Console(record=True, width=80, color_system=None)
    console.print(safe_text("[@click=app.quit]x[/] [/] \x1b[31m"))
    output = console.export_text()
    assert "[@click=app.quit]x[/] [/]" in output
    assert "\x1b" not in output
