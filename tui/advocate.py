"""A devil's advocate: after the reviewer's own judgement, a model argues against the draft.

A second model call that argues against the AI's answer improved appropriate reliance
(Chiang et al. 2024; Ma et al. 2025), where longer explanations only inflated trust
(Steyvers et al. 2025). It runs only once the reviewer's judgement is recorded, so it
cannot anchor it; what it said (or that it could not be reached) is recorded, hashed,
in the decision's oversight record, and is never the decision's output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from store import Item
    from tui.config import Settings

MAX_CHARS: Final = 12_000
"""Input and draft sent, each cut to this many characters."""
MAX_SAID: Final = 4_000
"""The most of the advocate's answer kept."""

PROMPT: Final = """You are a devil's advocate. A reviewer must decide whether an AI's draft \
can be used. Argue against the draft: in at most five short points, say what might be \
wrong in it and what the input does not support. Do not rewrite the draft and do not \
give a verdict.

The input the AI saw:
<<<
{input}
>>>

The AI's draft:
<<<
{draft}
>>>
"""


def prompt_for(item: Item) -> str:
    """The advocate's prompt for one item (input and draft bounded)."""
    return PROMPT.format(input=(item.input or "(none recorded)")[:MAX_CHARS],
                         draft=item.draft[:MAX_CHARS])  # fmt: skip


async def argue(settings: Settings, item: Item) -> dict[str, str]:
    """What the configured advocate says about `item`: {text, model} or {error}."""
    from providers.generative import GenerativeProvider
    from providers.http import ProviderError
    from tui.config import ConfigError
    from tui.pulling import build

    name = settings.advocate_provider
    if name is None:
        return {"error": "no [advocate] provider is configured"}
    try:
        provider = build(name, settings)
    except ConfigError as error:
        return {"error": str(error)}
    try:
        if not isinstance(provider, GenerativeProvider):
            return {"error": f"[providers.{name}] is not a model provider"}
        said = await provider.ask(prompt_for(item))
        return {"text": said.text.strip()[:MAX_SAID],
                "model": said.model or str(provider.options.model)}  # fmt: skip
    except ProviderError as error:
        return {"error": str(error)}
    finally:
        await provider.http.close()
