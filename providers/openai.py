"""`openai`: Chat Completions on any OpenAI-compatible server, asking for logprobs.

Works with OpenAI, vLLM, llama.cpp's server, LM Studio and Ollama's `/v1`. The answer
becomes the draft; token logprobs become its confidence (basis `logprobs`), or it is
unknown when the server sends none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from providers.adapter import Capabilities, Job, Options, Provider
from providers.base import DataLimit, Draft
from providers.common import logprob_confidence, make_draft, prompt_for, refusal_limit
from providers.http import HeaderAuth, ProviderError
from providers.inputs import Template, read_jobs


@dataclass(frozen=True)
class OpenAIOptions(Options):
    """`[providers.NAME]` keys for `type = "openai"`."""

    base_url: str
    """e.g. `http://localhost:8000/v1` or `https://api.openai.com/v1`."""
    model: str
    inputs: Path
    """JSONL/CSV file or folder of text files with the records to send."""
    prompt: Path
    """Template file with `{field}` placeholders."""
    api_key_env: str | None = None
    """Environment variable holding the key (local servers often need none)."""
    system: str = ""
    """Optional system message."""
    source: str = ""
    """Queue source for the drafts [default: the provider's name]."""
    kind: str = "reply"
    stakes: str = "medium"
    title_field: str = "title"
    temperature: float = 0.0
    max_tokens: int = 512
    max_input_chars: int = 24000
    fresh_days: float | None = None
    """Records older than this get a `stale` limit."""
    logprobs: bool = True
    concurrency: int = 4
    rate_per_second: float = 0.0
    """0 means no rate limit."""
    deadline: float = 60.0
    """Seconds for a whole call, retries aside."""


class OpenAIProvider(Provider):
    """Chat Completions with logprobs."""

    type_name: ClassVar[str] = "openai"
    Options: ClassVar[type[Options]] = OpenAIOptions
    capabilities: ClassVar[Capabilities] = Capabilities(generative=True, logprobs=True)

    @classmethod
    def secret_names(cls, options: Any) -> dict[str, str]:
        """The API key, if `api_key_env` names a variable."""
        return {"api_key": options.api_key_env} if options.api_key_env else {}

    @cached_property
    def template(self) -> Template:
        """The prompt template (read once per pull)."""
        return Template.load(self.options.prompt)

    def jobs(self) -> Iterable[Job | str]:
        """One job per input record."""
        return read_jobs(self.options.inputs, fresh_days=self.options.fresh_days, now=self.now())

    async def fetch(self, job: Job) -> Draft:
        """Ask the model; build the draft with confidence and detected limits."""
        options: OpenAIOptions = self.options
        prompt, limits = prompt_for(job, self.template, options.max_input_chars)
        messages = [{"role": "system", "content": options.system}] if options.system else []
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {
            "model": options.model,
            "messages": messages,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
        }
        if options.logprobs:
            body["logprobs"] = True
        key = self.secrets.get("api_key")
        auth = HeaderAuth("Authorization", key, "Bearer ") if key else None
        url = options.base_url.rstrip("/") + "/chat/completions"
        data, _ = await self.http.json("POST", url, body=body, auth=auth)
        text, finish, refusal, logprobs = self._parse(data, job)
        if finish == "length":
            limits.append(DataLimit("cut-off", "answer cut off (finish_reason=length)", "high"))
        flagged = refusal_limit(text, explicit=refusal)
        if flagged is not None:
            limits.append(flagged)
        return make_draft(
            self.name, self.source, job, text=text, prompt=prompt,
            confidence=logprob_confidence(logprobs), limits=limits,
            model=str(data.get("model") or options.model), kind=options.kind,
            stakes=options.stakes, title_field=options.title_field,
            meta={"finish_reason": finish, "usage": data.get("usage")},
        )  # fmt: skip

    def _parse(self, data: Any, job: Job) -> tuple[str, str, bool, list[object]]:
        def bad(what: str) -> ProviderError:
            return ProviderError(self.name, f"{job.origin}: unexpected answer: {what}")

        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise bad("no choices")
        if not data["choices"] or not isinstance(data["choices"][0], dict):
            raise bad("empty choices")
        choice = data["choices"][0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise bad("no message")
        refusal = message.get("refusal")
        text = message.get("content") or (refusal if isinstance(refusal, str) else "")
        if not isinstance(text, str) or not text.strip():
            raise bad("empty content")
        content = (choice.get("logprobs") or {}).get("content") or []
        logprobs = [t.get("logprob") for t in content if isinstance(t, dict)]
        return text, str(choice.get("finish_reason") or ""), bool(refusal), logprobs
