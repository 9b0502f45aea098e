"""Where the model was unsure: the draft with its least likely spans marked.

Highlighting the tokens a model gave low probability helped people find the errors in
its answers (Spatharioti et al. 2023). Marks come only from the draft's own token
probabilities (`providers.tokens`); a draft without them says so and is not marked.
Styles are attributes, not colours (reverse, underline), so they survive `NO_COLOR`,
monochrome terminals and SSH.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from rich.console import Console
from rich.text import Text

from providers.text import visible
from providers.tokens import TokenProbs

VERY_UNSURE: Final = 0.3
"""Below this probability a span is shown reversed."""
UNSURE: Final = 0.7
"""Below this, underlined."""
STYLE_VERY: Final = "reverse"
STYLE_UNSURE: Final = "underline"
STYLE_CURRENT: Final = "bold reverse underline"


@dataclass(frozen=True, slots=True)
class Doubt:
    """One marked stretch of the draft: characters [start, end) and its lowest probability."""

    start: int
    end: int
    probability: float


def doubts(draft: str, tokens: TokenProbs) -> list[Doubt]:
    """The draft's unsure spans, in order: adjacent unsure tokens merged, edges trimmed."""
    found: list[Doubt] = []
    position = 0
    for length, logprob in tokens:
        start, end = position, position + length
        position = end
        if logprob is None or math.exp(logprob) >= UNSURE:
            continue
        piece = draft[start:end]
        if not piece.strip():
            continue  # a space or newline alone is nothing to check
        start += len(piece) - len(piece.lstrip())
        end -= len(piece) - len(piece.rstrip())
        chance = math.exp(logprob)
        last = found[-1] if found else None
        if last is not None and not draft[last.end : start].strip():
            found[-1] = Doubt(last.start, end, min(last.probability, chance))
        else:
            found.append(Doubt(start, end, chance))
    return found


def marked(draft: str, spans: list[Doubt], current: int | None = None) -> tuple[Text, list[int]]:
    """The draft as shown, with `spans` styled; also where each span starts in the text.

    Untrusted text goes through `visible` piece by piece (a control character becomes a
    marker, which changes lengths), so the offsets are of the shown text.
    """
    text = Text()
    starts: list[int] = []
    position = 0
    for index, span in enumerate(spans):
        text.append(visible(draft[position : span.start], multiline=True))
        starts.append(len(text.plain))
        style = (
            STYLE_CURRENT if index == current
            else STYLE_VERY if span.probability < VERY_UNSURE else STYLE_UNSURE
        )  # fmt: skip
        text.append(visible(draft[span.start : span.end], multiline=True), style=style)
        position = span.end
    text.append(visible(draft[position:], multiline=True))
    return text, starts


def line_of(text: Text, offset: int, width: int, console: Console) -> int:
    """The wrapped line (0-based) that character `offset` of `text` falls on."""
    line = 0
    consumed = 0
    for paragraph in text.plain.split("\n"):
        if offset <= consumed + len(paragraph):
            wrapped = Text(paragraph).wrap(console, max(1, width))
            within = offset - consumed
            for row in wrapped:
                if within <= len(row.plain):
                    return line
                within -= len(row.plain)
                line += 1
            return line
        line += max(1, len(Text(paragraph).wrap(console, max(1, width))))
        consumed += len(paragraph) + 1
    return line


def legend(tokens: TokenProbs, spans: list[Doubt], draft: str, why_none: object) -> Text:
    """What the marks mean (or why there are none): one dim line under the draft."""
    text = Text(style="dim")
    if not tokens:
        text.append("No token probabilities for this draft: nothing is marked.")
        if isinstance(why_none, str) and why_none:
            text.append(f" ({visible(why_none)})")
        return text
    text.append("The model was unsure: ")
    text.append("reversed", style=STYLE_VERY)
    text.append(f" <{VERY_UNSURE:.0%}, ")
    text.append("underlined", style=STYLE_UNSURE)
    text.append(f" <{UNSURE:.0%} probability" + ("" if spans else " (none here)") + ". ")
    covered = sum(n for n, _ in tokens)
    if covered < len(draft):
        text.append(f"Marks cover the first {covered:,} of {len(draft):,} characters. ")
    text.append("Unmarked words can be wrong too.", style="italic")
    return text
