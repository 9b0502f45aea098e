"""`anthropic`: the Messages API (`x-api-key`, `anthropic-version`).

The API reports no token probabilities, so confidence is unknown (basis `none`):
never 0 and never 1.
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers.adapter import Capabilities, Options
from providers.generative import Answer, GenerativeOptions, GenerativeProvider

API_VERSION = "2023-06-01"


class AnthropicProvider(GenerativeProvider):
    """Messages API; 529 "overloaded" is retried by the HTTP seam."""

    type_name: ClassVar[str] = "anthropic"
    Options: ClassVar[type[Options]] = GenerativeOptions
    capabilities: ClassVar[Capabilities] = Capabilities(generative=True, logprobs=False)
    default_url: ClassVar[str] = "https://api.anthropic.com"
    key_header: ClassVar[tuple[str, str]] = ("x-api-key", "")

    def request(self, prompt: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """POST /v1/messages (the system prompt is a top-level field here)."""
        options = self.options
        body: dict[str, Any] = {
            "model": options.model,
            "max_tokens": options.max_tokens,
            "messages": self.messages(prompt, with_system=False),
        }
        if options.temperature is not None:
            # Not sent unless set: the newest models answer 400 "temperature is
            # deprecated for this model".
            body["temperature"] = options.temperature
        if options.system:
            body["system"] = options.system
        url = self.base_url + ("" if self.base_url.endswith("/v1") else "/v1") + "/messages"
        return url, {"anthropic-version": API_VERSION}, body

    def answer(self, data: Any) -> Answer:
        """Text blocks of `content`, `stop_reason`, and thinking blocks kept apart.

        A refusal or a cut-off with no text is still an answer: it is queued with a
        limit saying so (a human should see that the AI declined), not re-asked and
        re-billed on every pull as "empty".
        """
        blocks = data["content"]
        if not isinstance(blocks, list):
            raise ValueError("content is not a list")
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        thinking = "".join(b.get("thinking", "") for b in blocks if b.get("type") == "thinking")
        stop = str(data.get("stop_reason") or "")
        if not text.strip() and stop == "refusal":
            text = "(the model declined to answer)"
        elif not text.strip() and stop == "max_tokens":
            text = "(the model used its whole token budget before writing an answer)"
        stopped = (
            "the conversation no longer fit the model's context window; the answer stops there"
            if stop == "model_context_window_exceeded" else ""
        )  # fmt: skip
        return Answer(
            text=text, cut_off=stop == "max_tokens", refused=stop == "refusal", tokens=[],
            model=str(data.get("model") or ""), reason=f"stop_reason={stop}",
            stopped=stopped, reasoning=thinking,
        )  # fmt: skip
