"""`openai`: Chat Completions on any OpenAI-compatible server, asking for logprobs.

Works with OpenAI, vLLM, llama.cpp's server, LM Studio and Ollama's `/v1`. Token
logprobs become the confidence (basis `logprobs`); without them it is unknown.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import httpx

from providers.adapter import Capabilities, Options
from providers.generative import (
    SELF_REPORT_SCHEMA,
    Answer,
    GenerativeOptions,
    GenerativeProvider,
)


class OpenAIOptions(GenerativeOptions):
    """`[providers.NAME]` keys for `type = "openai"`."""

    token_limit_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    """Which request field carries `max_tokens`: OpenAI's reasoning models refuse the
    deprecated `max_tokens`, Ollama's `/v1` honours only it. `auto`: the new name on
    api.openai.com, the old one elsewhere."""


_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)


class OpenAIProvider(GenerativeProvider):
    """Chat Completions with logprobs."""

    type_name: ClassVar[str] = "openai"
    Options: ClassVar[type[Options]] = OpenAIOptions
    capabilities: ClassVar[Capabilities] = Capabilities(generative=True, logprobs=True)
    default_url: ClassVar[str] = "https://api.openai.com/v1"

    def request(self, prompt: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """POST /chat/completions."""
        options: OpenAIOptions = self.options
        limit = options.token_limit_param
        if limit == "auto":
            official = httpx.URL(self.base_url).host == "api.openai.com"
            limit = "max_completion_tokens" if official else "max_tokens"
        body: dict[str, Any] = {
            "model": options.model,
            "messages": self.messages(prompt),
            limit: options.max_tokens,
        }
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.logprobs:
            # llama-cpp-python's server sends no logprobs without top_logprobs (seen
            # live); llama.cpp sends none for 0.
            body["logprobs"] = True
            body["top_logprobs"] = 1
        return f"{self.base_url}/chat/completions", {}, body

    def structured(self, body: dict[str, Any]) -> None:
        """OpenAI's strict JSON schema output."""
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "draft", "schema": SELF_REPORT_SCHEMA, "strict": True},
        }

    def answer(self, data: Any) -> Answer:
        """`choices[0].message`, its `refusal`, `finish_reason` and `logprobs.content`.

        Reasoning (`reasoning_content` from vLLM and DeepSeek, `reasoning` from Ollama's
        `/v1` and others, or a leading `<think>…</think>` in the content) is kept apart,
        and its tokens are left out of the confidence.
        """
        choices = data["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError("no choices in the answer")
        choice = choices[0]
        message = choice["message"]
        refusal = message.get("refusal")
        text = message.get("content") or (refusal if isinstance(refusal, str) else "")
        if not isinstance(text, str):
            raise ValueError("message content is not text")
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        tokens = [t for t in (choice.get("logprobs") or {}).get("content") or []
                  if isinstance(t, dict)]  # fmt: skip
        thought = _THINK.match(text)
        if thought:
            reasoning = thought.group(1)
            text = text[thought.end() :]
            tokens = _after_think(tokens)
        finish = str(choice.get("finish_reason") or "")
        stopped = (
            "stopped by the provider's content filter; the text is what came before it"
            if finish == "content_filter" else ""
        )  # fmt: skip
        return Answer(
            text=text, cut_off=finish == "length", refused=bool(refusal),
            tokens=[(t.get("token"), t.get("logprob")) for t in tokens],
            model=str(data.get("model") or ""), reason=f"finish_reason={finish}",
            stopped=stopped, reasoning=str(reasoning) if isinstance(reasoning, str) else "",
        )  # fmt: skip


def _after_think(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tokens after the closing `</think>` (the answer's own)."""
    seen = ""
    for n, token in enumerate(tokens):
        seen += str(token.get("token", ""))
        if "</think>" in seen:
            rest = tokens[n + 1 :]
            # Whitespace between the thinking and the answer carries no doubt.
            while rest and not str(rest[0].get("token", "")).strip():
                rest = rest[1:]
            return rest
    return tokens
