"""`ollama`: Ollama's native `/api/chat`, with `logprobs` where the server supports it.

Older servers ignore the request for logprobs; then confidence is unknown.
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers.adapter import Capabilities, Options
from providers.generative import (
    SELF_REPORT_SCHEMA,
    Answer,
    GenerativeOptions,
    GenerativeProvider,
)


class OllamaProvider(GenerativeProvider):
    """Native chat API, non-streaming."""

    type_name: ClassVar[str] = "ollama"
    Options: ClassVar[type[Options]] = GenerativeOptions
    capabilities: ClassVar[Capabilities] = Capabilities(generative=True, logprobs=True)
    default_url: ClassVar[str] = "http://localhost:11434"

    def request(self, prompt: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """POST /api/chat with `stream: false`."""
        options = self.options
        body: dict[str, Any] = {
            "model": options.model,
            "messages": self.messages(prompt),
            "stream": False,
            "options": {"temperature": options.temperature, "num_predict": options.max_tokens},
        }
        if options.logprobs:
            body["logprobs"] = True
        return f"{self.base_url}/api/chat", {}, body

    def structured(self, body: dict[str, Any]) -> None:
        """Ollama takes the schema as `format`."""
        body["format"] = SELF_REPORT_SCHEMA

    def answer(self, data: Any) -> Answer:
        """`message.content`, `done_reason`, and `logprobs[].logprob` if present."""
        text = data["message"]["content"]
        if not isinstance(text, str):
            raise ValueError("message content is not text")
        reason = str(data.get("done_reason") or "")
        tokens = data.get("logprobs") or []
        return Answer(
            text=text, cut_off=reason == "length", refused=False,
            logprobs=[t.get("logprob") for t in tokens if isinstance(t, dict)],
            model=str(data.get("model") or ""), reason=f"done_reason={reason}",
        )  # fmt: skip
