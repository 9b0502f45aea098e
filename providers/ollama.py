"""`ollama`: Ollama's native `/api/chat`, with `logprobs` where the server supports it.

Older servers ignore the request for logprobs; then confidence is unknown.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from providers.adapter import Capabilities, Options
from providers.generative import (
    SELF_REPORT_SCHEMA,
    Answer,
    GenerativeOptions,
    GenerativeProvider,
)


class OllamaOptions(GenerativeOptions):
    """`[providers.NAME]` keys for `type = "ollama"`."""

    num_ctx: Annotated[int, Field(ge=256)] | None = None
    """Context window to ask for (Ollama's default is small and it cuts the prompt to fit
    without an error): the prompt's use of it is checked on every answer."""


TRUNCATED_AT = 0.97
"""A prompt that used this share of `num_ctx` or more was most likely cut to fit."""


class OllamaProvider(GenerativeProvider):
    """Native chat API, non-streaming."""

    type_name: ClassVar[str] = "ollama"
    Options: ClassVar[type[Options]] = OllamaOptions
    capabilities: ClassVar[Capabilities] = Capabilities(generative=True, logprobs=True)
    default_url: ClassVar[str] = "http://localhost:11434"

    def request(self, prompt: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """POST /api/chat with `stream: false`."""
        options: OllamaOptions = self.options
        settings: dict[str, Any] = {"num_predict": options.max_tokens}
        if options.temperature is not None:
            settings["temperature"] = options.temperature
        if options.num_ctx is not None:
            settings["num_ctx"] = options.num_ctx
        body: dict[str, Any] = {
            "model": options.model,
            "messages": self.messages(prompt),
            "stream": False,
            "options": settings,
        }
        if options.logprobs:
            body["logprobs"] = True
        return f"{self.base_url}/api/chat", {}, body

    def structured(self, body: dict[str, Any]) -> None:
        """Ollama takes the schema as `format`."""
        body["format"] = SELF_REPORT_SCHEMA

    def answer(self, data: Any) -> Answer:
        """`message.content` (its `thinking` kept apart), `done_reason` and logprobs.

        `prompt_eval_count` near `num_ctx` means the prompt filled the window: a limit.
        """
        message = data["message"]
        text = message["content"]
        if not isinstance(text, str):
            raise ValueError("message content is not text")
        reason = str(data.get("done_reason") or "")
        tokens = data.get("logprobs") or []
        used, window = data.get("prompt_eval_count"), self.options.num_ctx
        stopped = ""
        if isinstance(used, int) and window and used >= TRUNCATED_AT * window:
            stopped = (
                f"the prompt used {used:,} of the {window:,}-token context window: Ollama "
                "most likely cut the input to fit (raise num_ctx)"
            )
        thinking = message.get("thinking")
        return Answer(
            text=text, cut_off=reason == "length", refused=False,
            tokens=[(t.get("token"), t.get("logprob")) for t in tokens if isinstance(t, dict)],
            model=str(data.get("model") or ""), reason=f"done_reason={reason}",
            stopped=stopped, reasoning=thinking if isinstance(thinking, str) else "",
        )  # fmt: skip
