"""`openai`: Chat Completions on any OpenAI-compatible server, asking for logprobs.

Works with OpenAI, vLLM, llama.cpp's server, LM Studio and Ollama's `/v1`. Token
logprobs become the confidence (basis `logprobs`); without them it is unknown.
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


class OpenAIProvider(GenerativeProvider):
    """Chat Completions with logprobs."""

    type_name: ClassVar[str] = "openai"
    Options: ClassVar[type[Options]] = GenerativeOptions
    capabilities: ClassVar[Capabilities] = Capabilities(generative=True, logprobs=True)
    default_url: ClassVar[str] = "https://api.openai.com/v1"

    def request(self, prompt: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """POST /chat/completions."""
        options = self.options
        body: dict[str, Any] = {
            "model": options.model,
            "messages": self.messages(prompt),
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
        }
        if options.logprobs:
            body["logprobs"] = True
        return f"{self.base_url}/chat/completions", {}, body

    def structured(self, body: dict[str, Any]) -> None:
        """OpenAI's strict JSON schema output."""
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "draft", "schema": SELF_REPORT_SCHEMA, "strict": True},
        }

    def answer(self, data: Any) -> Answer:
        """`choices[0].message`, its `refusal`, `finish_reason` and `logprobs.content`."""
        choice = data["choices"][0]
        message = choice["message"]
        refusal = message.get("refusal")
        text = message.get("content") or (refusal if isinstance(refusal, str) else "")
        if not isinstance(text, str):
            raise ValueError("message content is not text")
        tokens = (choice.get("logprobs") or {}).get("content") or []
        finish = str(choice.get("finish_reason") or "")
        return Answer(
            text=text, cut_off=finish == "length", refused=bool(refusal),
            logprobs=[t.get("logprob") for t in tokens if isinstance(t, dict)],
            model=str(data.get("model") or ""), reason=f"finish_reason={finish}",
        )  # fmt: skip
