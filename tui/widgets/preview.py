"""The queue's preview of the highlighted item, on terminals 140 columns wide or more.

It shows what the AI saw and the data's limits; the draft and its confidence only when
the item would not open commit-first for this reviewer — a preview must not let the
machine's answer in before the reviewer's own judgement, any more than the item screen.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from store import Item, Requirements
from tui.format import confidence_panel, limits_panel
from tui.history import item_header
from tui.safe import safe_text

PREVIEW_MIN_WIDTH = 140
"""Narrower terminals keep the whole width for the list."""
INPUT_LINES = 12


def preview(item: Item, need: Requirements) -> RenderableType:
    """The preview of one item for one reviewer."""
    parts: list[RenderableType] = [item_header(item), Text("")]
    if need.commit_first:
        parts.append(Text(
            "Opens commit-first: the draft and its confidence show after your own "
            "judgement.", style="bold yellow",
        ))  # fmt: skip
    else:
        parts += [Text("Draft", style="bold"), safe_text(item.draft, multiline=True), Text("")]
        parts += [Text("Confidence", style="bold"),
                  confidence_panel(item.confidence, item.confidence_basis)]  # fmt: skip
    parts += [Text(""), Text("Data limits", style="bold"), limits_panel(item.data_limits)]
    if item.input:
        lines = item.input.splitlines()
        shown = "\n".join(lines[:INPUT_LINES])
        parts += [Text(""), Text("Input the AI saw", style="bold"),
                  safe_text(shown, multiline=True)]  # fmt: skip
        if len(lines) > INPUT_LINES:
            parts.append(Text(f"… {len(lines) - INPUT_LINES} more lines", style="dim"))
    return Group(*parts)
