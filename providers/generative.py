"""What the three generative adapters share: options, jobs from inputs, the fetch loop.

A subclass says how to build its request and how to read its answer (`Answer`);
limits, confidence and the draft are made here the same way for every API.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, ClassVar

import httpx
from pydantic import Field

from providers.adapter import (
    Amount,
    ConfigPath,
    Count,
    Job,
    JobProvider,
    Options,
)
from providers.base import ConfidenceBasis, DataLimit, Draft, Stakes
from providers.common import (
    make_draft,
    mean_probability,
    prompt_for,
    refusal_limit,
    usable_logprobs,
)
from providers.http import ProviderError
from providers.inputs import Template, read_jobs
from providers.tokens import aligned


class GenerativeOptions(Options):
    """Keys every generative provider takes in `[providers.NAME]`."""

    model: str
    """The model's name as the server knows it."""
    inputs: ConfigPath
    """JSONL/CSV file or folder of text files with the records to send."""
    prompt: ConfigPath
    """Template file with `{field}` placeholders."""
    base_url: str = ""
    """The API's base URL [default: the provider's usual one]."""
    api_key_env: str | None = None
    """Environment variable holding the key (local servers often need none)."""
    system: str = ""
    """A system message sent before every prompt."""
    source: str = ""
    """Queue source for the drafts [default: the provider's name]."""
    kind: str = "reply"
    """The drafts' kind (reply, summary, score, label, …)."""
    stakes: Stakes = "medium"
    """Stakes of records that name none."""
    title_field: str = "title"
    """The record field shown as the item's title."""
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    """Sampling temperature; not sent unless set (newer models refuse it: set 0 for
    repeatable drafts where the server takes it)."""
    max_tokens: Annotated[int, Field(ge=1)] = 512
    """Most tokens the model may answer with."""
    max_input_chars: Count = 24000
    """A prompt longer than this is cut, with a limit saying how much (0: never cut)."""
    fresh_days: Amount | None = None
    """Records older than this get a `stale` limit."""
    logprobs: bool = True
    """Ask for token logprobs where the API has them."""
    self_report: bool = False
    """Ask the model for its own confidence via structured output (basis `self-report`)."""
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    """Calls in flight at once."""
    rate_per_second: Amount = 0.0
    """0 means no rate limit."""
    deadline: Annotated[float, Field(gt=0)] = 60.0
    """Seconds for a whole record, retries and waits included."""


MAX_REASONING = 20_000
"""Characters of a model's reasoning kept with the draft (reasoning can run long)."""

SELF_REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}
"""The shape asked for when `self_report` is on."""
SELF_REPORT_ASK = (
    '\n\nAnswer as JSON: {"answer": <your answer>, "confidence": <0 to 1, how likely '
    "your answer is correct>}."
)


def self_reported(text: str) -> tuple[str, float] | None:
    """(answer, confidence) from a structured answer, or None if it is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    answer, confidence = data.get("answer"), data.get("confidence")
    if not isinstance(answer, str) or not answer.strip():
        return None
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        return None
    if not 0.0 <= float(confidence) <= 1.0:
        return None
    return answer, float(confidence)


@dataclass(frozen=True, slots=True)
class Answer:
    """What an API said, in the shape the drafts need."""

    text: str
    cut_off: bool
    """The answer hit the token limit."""
    refused: bool
    tokens: list[tuple[object, object]]
    """(token text, logprob) per token of `text`, as the API sent them (may be empty)."""
    model: str
    reason: str
    """The API's own finish/stop reason, kept in the item's metadata."""
    stopped: str = ""
    """Why the answer stopped early, if a filter or window did (a high data limit)."""
    reasoning: str = ""
    """The model's thinking, kept apart: shown to the reviewer, never the draft, never
    in the confidence."""

    @property
    def logprobs(self) -> list[object]:
        """The tokens' logprobs alone (for the confidence)."""
        return [value for _, value in self.tokens]


def _what(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} in it"
    if isinstance(error, IndexError):
        return "an empty list where an answer was expected"
    return str(error)


class GenerativeProvider(JobProvider):
    """Sends each input record, rendered through the template, to a model."""

    default_url: ClassVar[str] = ""
    key_header: ClassVar[tuple[str, str]] = ("Authorization", "Bearer ")
    """Header name and value prefix for the API key."""

    @classmethod
    def secret_names(cls, options: Any) -> dict[str, str]:
        """The API key, if `api_key_env` names a variable."""
        return {"api_key": options.api_key_env} if options.api_key_env else {}

    @cached_property
    def template(self) -> Template:
        """The prompt template (read once per pull)."""
        return Template.load(self.options.prompt)

    def describe(self) -> str:
        """Model, server and inputs."""
        return f"{self.options.model} at {self.base_url}, inputs {self.options.inputs}"

    @property
    def base_url(self) -> str:
        """Configured URL, else the provider's usual one."""
        return (self.options.base_url or self.default_url).rstrip("/")

    def jobs(self) -> Iterable[Job | str]:
        """One job per input record."""
        return read_jobs(self.options.inputs, fresh_days=self.options.fresh_days, now=self.now())

    def auth(self) -> httpx.Auth | None:
        """The key as a header, applied at send time (see `providers.http.HeaderAuth`)."""
        from providers.http import HeaderAuth

        key = self.secrets.get("api_key")
        return HeaderAuth(self.key_header[0], key, self.key_header[1]) if key else None

    @abstractmethod
    def request(self, prompt: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, extra headers and JSON body for one prompt."""

    def structured(self, body: dict[str, Any]) -> None:
        """Add the API's own structured-output field for `SELF_REPORT_SCHEMA` (if any)."""
        del body

    @abstractmethod
    def answer(self, data: Any) -> Answer:
        """Read the API's JSON; raise ValueError (what was wrong) for a bad shape."""

    async def ask(self, prompt: str, *, structured: bool = False) -> Answer:
        """Send one prompt and read the answer (not empty).

        Raises:
            ProviderError: The server failed, answered in a shape not expected, or empty.
        """
        url, headers, body = self.request(prompt)
        if structured:
            self.structured(body)
        data, _ = await self.http.json("POST", url, headers=headers, body=body, auth=self.auth())
        try:
            said = self.answer(data)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            raise ProviderError(self.name, f"unexpected answer: {_what(error)}") from None
        if not said.text.strip():
            raise ProviderError(self.name, "empty answer")
        return said

    async def fetch(self, job: Job) -> Draft:
        """Render, send, read, and make the draft with its confidence and limits."""
        options: GenerativeOptions = self.options
        prompt, limits = prompt_for(job, self.template, options.max_input_chars)
        sent = prompt + SELF_REPORT_ASK if options.self_report else prompt
        said = await self.ask(sent, structured=options.self_report)
        if said.cut_off:
            limits.append(DataLimit("cut-off", f"answer cut off ({said.reason})", "high"))
        if said.stopped:
            limits.append(DataLimit("cut-off", said.stopped, "high"))
        text = said.text
        values, left_out = usable_logprobs(said.logprobs)  # read once: number and count
        confidence = mean_probability(values)
        basis: ConfidenceBasis = "logprobs" if confidence is not None else "none"
        meta: dict[str, Any] = {"finish_reason": said.reason}
        if said.reasoning.strip():
            meta["reasoning"] = said.reasoning[:MAX_REASONING]
        if left_out:
            meta["logprobs_left_out"] = left_out
            limits.append(DataLimit(
                "confidence", f"{left_out} of {len(said.logprobs)} tokens came with no real "
                "probability (a server placeholder) and were left out of the confidence", "info",
            ))  # fmt: skip
        if options.self_report:
            # The logprobs now describe JSON tokens; keep them for reference only.
            meta["token_likelihood"] = confidence
            reported = self_reported(text)
            if reported is None:
                confidence, basis = None, "none"
                limits.append(DataLimit(
                    "self-report", "asked for a self-reported confidence; the answer had none",
                    "warn",
                ))  # fmt: skip
            else:
                text, confidence = reported
                basis = "self-report"
        flagged = refusal_limit(text, explicit=said.refused)
        if flagged is not None:
            limits.append(flagged)
        # Marks only where the tokens spell the draft itself (not a self-report's JSON).
        tokens = () if options.self_report else aligned(text, said.tokens)
        if said.tokens and not tokens and not options.self_report:
            meta["token_marks"] = "the token probabilities did not spell the answer: no marks"
        return make_draft(
            self.name, self.source, job, text=text, prompt=sent, confidence=confidence,
            basis=basis, limits=limits, model=said.model or options.model, kind=options.kind,
            stakes=options.stakes, title_field=options.title_field, meta=meta, tokens=tokens,
        )  # fmt: skip

    def messages(self, prompt: str, *, with_system: bool = True) -> list[dict[str, str]]:
        """Chat messages: the optional system message, then the prompt."""
        system = self.options.system
        head = [{"role": "system", "content": system}] if system and with_system else []
        return [*head, {"role": "user", "content": prompt}]
