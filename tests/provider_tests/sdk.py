"""Fixtures built from the providers' official SDK models, and checks of what we send.

A hand-written answer can drift from what a real server sends; one built with the SDK's
own typed models (`openai`, `anthropic`, `ollama`, dev dependencies) cannot, and every
request signoff sends is checked against the SDK's request types: an unknown field or a
wrong type fails the test that sent it.
"""

from __future__ import annotations

import typing
from typing import Any

from anthropic.types import Message, TextBlock, ThinkingBlock, Usage
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from ollama._types import ChatRequest, ChatResponse
from openai.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionTokenLogprob
from openai.types.chat.chat_completion import Choice, ChoiceLogprobs
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter

_OPENAI_REQUEST = TypeAdapter(CompletionCreateParamsNonStreaming)
_ANTHROPIC_REQUEST = TypeAdapter(MessageCreateParamsNonStreaming)


def openai_completion(
    *,
    model: str,
    content: str | None,
    finish: str = "stop",
    logprobs: list[tuple[str, float | None]] | None = None,
    refusal: str | None = None,
    no_choices: bool = False,
    message_extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Chat Completions answer.

    `message_extra` adds servers' own message fields (vLLM's `reasoning_content`),
    which the SDK model keeps as extras.
    """
    message = ChatCompletionMessage(role="assistant", content=content, refusal=refusal)
    for name, value in (message_extra or {}).items():
        setattr(message, name, value)
    tokens = None
    if logprobs is not None:
        tokens = ChoiceLogprobs(content=[
            ChatCompletionTokenLogprob(token=t, logprob=v, top_logprobs=[], bytes=None)
            for t, v in logprobs if v is not None
        ])  # fmt: skip
    choices = [] if no_choices else [
        Choice(index=0, finish_reason=typing.cast(Any, finish), message=message, logprobs=tokens)
    ]  # fmt: skip
    answer = ChatCompletion(id="chatcmpl-1", created=1764000000, model=model,
                            object="chat.completion", choices=choices)  # fmt: skip
    return answer.model_dump(mode="json", exclude_none=True)


def anthropic_message(
    *, model: str, text: list[str], stop: str = "end_turn", thinking: str | None = None
) -> dict[str, Any]:
    """A Messages API answer: optional thinking block, then text blocks."""
    blocks: list[Any] = []
    if thinking is not None:
        blocks.append(ThinkingBlock(type="thinking", thinking=thinking, signature="sig"))
    blocks.extend(TextBlock(type="text", text=part) for part in text)
    answer = Message(
        id="msg_1", type="message", role="assistant", model=model, content=blocks,
        stop_reason=typing.cast(Any, stop), stop_sequence=None,
        usage=Usage(input_tokens=5, output_tokens=7),
    )  # fmt: skip
    return answer.model_dump(mode="json", exclude_none=True)


def ollama_chat(
    *,
    model: str,
    content: str,
    done_reason: str = "stop",
    logprobs: list[tuple[str, float]] | None = None,
    thinking: str | None = None,
    prompt_eval_count: int | None = None,
) -> dict[str, Any]:
    """A native `/api/chat` answer (non-streaming)."""
    answer = ChatResponse.model_validate({
        "model": model, "created_at": "2026-11-24T09:00:00Z", "done": True,
        "done_reason": done_reason, "prompt_eval_count": prompt_eval_count,
        "message": {"role": "assistant", "content": content, "thinking": thinking},
        "logprobs": [{"token": t, "logprob": v} for t, v in logprobs or []] or None,
    })  # fmt: skip
    return answer.model_dump(mode="json", exclude_none=True)


def _known_keys(body: dict[str, Any], allowed: typing.Iterable[str], api: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    assert not unknown, f"{api} request has fields its SDK does not know: {unknown}"


def check_openai_request(body: dict[str, Any]) -> None:
    """Fails unless `body` is a valid non-streaming Chat Completions request."""
    _known_keys(body, typing.get_type_hints(CompletionCreateParamsNonStreaming), "openai")
    checked = _OPENAI_REQUEST.validate_python(body)
    list(checked["messages"])  # an iterable validates lazily: make it look


def check_anthropic_request(body: dict[str, Any]) -> None:
    """Fails unless `body` is a valid non-streaming Messages request."""
    _known_keys(body, typing.get_type_hints(MessageCreateParamsNonStreaming), "anthropic")
    checked = _ANTHROPIC_REQUEST.validate_python(body)
    list(checked["messages"])


def check_ollama_request(body: dict[str, Any]) -> None:
    """Fails unless `body` is a valid `/api/chat` request."""
    _known_keys(body, ChatRequest.model_fields, "ollama")
    ChatRequest.model_validate(body)


Handler = typing.Callable[[str, dict[str, Any]], tuple[int, dict[str, str], bytes]]


def checked(check: typing.Callable[[dict[str, Any]], None], answer: Handler) -> Handler:
    """`answer` behind the SDK's request check.

    A request the SDK refuses gets a 400 saying why (never retried), so the pull's
    counts show it and the test fails with the reason.
    """
    import json

    def handler(path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        try:
            check(body)
        except Exception as error:
            refusal = {"error": {"type": "invalid_request_error", "message": f"SDK check: {error}"}}
            return 400, {}, json.dumps(refusal).encode()
        return answer(path, body)

    return handler
