"""How values look on screen: confidence, data limits, stakes, ages. Returns Rich `Text`.

Untrusted strings pass through `tui.safe` here, so widgets receive only `Text`.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from rich.text import Text

from providers.base import DataLimit
from tui.safe import safe_text, visible

BASIS_SHORT: Final = {"logprobs": "lp", "self-report": "self", "provider": "prov", "none": ""}
BASIS_LABEL: Final = {
    "logprobs": "token likelihood (logprobs)",
    "self-report": "the model's own estimate",
    "provider": "reported by the source",
    "none": "unknown",
}
BASIS_MEANING: Final = {
    "logprobs": "From token probabilities: how sure the model was of its own words. "
    "It is not the probability that the draft is right.",
    "self-report": "The model's own estimate of its confidence. Models are often "
    "over-confident: treat this number with suspicion.",
    "provider": "Reported by the system that made the draft. Ask how it is calibrated "
    "before trusting it.",
    "none": "Unknown: nothing reported a confidence. Judge the draft on its own; "
    "unknown is not low and not high.",
}
# Light shades, not the terminal's dark ANSI red and magenta: with NO_COLOR, Textual turns
# colours into greys by brightness, and ANSI red became grey 237 on a 233 background.
RED: Final = "#ff6e6e"
MAGENTA: Final = "#e08aff"
SEVERITY_STYLE: Final = {3: f"bold {RED}", 2: "yellow", 1: "cyan", 0: "yellow"}
SEVERITY_NAME: Final = {3: "HIGH", 2: "warn", 1: "info", 0: "none"}
STAKES_STYLE: Final = {"high": f"bold {RED}", "medium": "yellow", "low": "green"}
STAKES_NAME: Final = {"high": "HIGH", "medium": "med", "low": "low"}
_BLOCKS: Final = " ▏▎▍▌▋▊▉█"


def bar(value: float, width: int = 5) -> str:
    """A bar of `width` cells filled in eighths."""
    eighths = round(max(0.0, min(1.0, value)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_BLOCKS[part] if part else "")
    return text.ljust(width)


def confidence_cell(confidence: float | None, basis: str, width: int = 14) -> Text:
    """`0.93 ███▋ lp` or `?  unknown` — unknown never reads as zero."""
    if confidence is None:
        return Text("?  unknown".ljust(width)[:width], style=f"italic {MAGENTA}")
    style = "green" if confidence >= 0.9 else "yellow" if confidence >= 0.7 else RED
    text = Text(f"{confidence:.2f} ", style=style)
    text.append(bar(confidence, 4), style=style)
    text.append(f" {BASIS_SHORT.get(basis, basis)}", style="dim")
    text.truncate(width, pad=True)
    return text


def confidence_panel(confidence: float | None, basis: str, left_out: int = 0) -> Text:
    """The item screen's confidence panel: value, bar, basis and what it means.

    `left_out`: tokens whose logprob was a server placeholder, not in the number.
    """
    text = Text()
    if confidence is None:
        text.append("unknown\n", style=f"bold italic {MAGENTA}")
    else:
        text.append(f"{confidence:.2f}  ", style="bold")
        text.append(bar(confidence, 10) + "\n")
    text.append(f"basis: {BASIS_LABEL.get(basis, basis)}\n", style="dim")
    text.append(BASIS_MEANING.get(basis, ""))
    if left_out:
        text.append(
            f"\n{left_out} token{'s' if left_out != 1 else ''} came with a placeholder "
            "instead of a probability and are not in this number.",
            style="yellow",
        )
    return text


def limits_panel(limits: tuple[DataLimit, ...]) -> Text:
    """Each limit, worst first; no limits is itself shown as a caution."""
    if not limits:
        return Text(
            "⚠ No limits reported. That does not mean there are none: check what the "
            "draft rests on.",
            style="yellow",
        )
    text = Text()
    rank = {"high": 3, "warn": 2, "info": 1}
    for index, limit in enumerate(sorted(limits, key=lambda lim: -rank[lim.severity])):
        level = rank[limit.severity]
        if index:
            text.append("\n")
        text.append(f"{SEVERITY_NAME[level]:<4} ", style=SEVERITY_STYLE[level])
        text.append(visible(limit.kind), style="bold")
        text.append(": ")
        text.append(visible(limit.detail))
    return text


def worst_cell(worst: int) -> Text:
    """Worst data-limit severity for a queue row; `none` is a caution, not a pass."""
    return Text(f"{SEVERITY_NAME[worst]:<4}", style=SEVERITY_STYLE[worst])


def stakes_cell(stakes: str) -> Text:
    """`HIGH`, `med` or `low`, coloured."""
    return Text(f"{STAKES_NAME.get(stakes, stakes):<4}", style=STAKES_STYLE.get(stakes, ""))


def age(created: dt.datetime, now: dt.datetime) -> str:
    """Compact age: `45s`, `12m`, `3h`, `4d`, `7w`."""
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def plain(text: str, *, style: str = "") -> Text:
    """Untrusted single-line text as `Text` (markers for controls, no markup)."""
    return safe_text(text, style=style)
