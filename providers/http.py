"""The one HTTP seam: every adapter's requests go through `Http`, with our own rules.

- An overall deadline per call (httpx's read timeout is per chunk: a server dripping a
  byte every 0.8 s holds a call for as long as it likes under `read=2s`).
- Bodies streamed with a cap on *decoded* bytes (a 200 KB gzip body can expand to
  200 MB), and an oversized Content-Length refused before reading.
- Retries owned here (httpx retries only connection errors): exponential backoff with
  jitter on connect errors, 408, 429, 5xx and Anthropic's 529, honouring
  `retry-after-ms` and Retry-After (seconds, fractional too, or a date; capped) and the
  server's `x-should-retry`; never on 400/401/403/404/422 or a quota/billing error type
  or code; all within the call's deadline, waits included.
- Strict JSON: duplicate keys, NaN and an HTML page with status 200 are errors.
- Secrets are redacted from every message this module produces.

Tests pass `transport=httpx.MockTransport(...)`; integration tests use a real server
on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from providers.records import no_duplicate_keys
from providers.secret import Secret
from providers.text import visible

RETRY_STATUSES: Final = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
FATAL_STATUSES: Final = frozenset({400, 401, 403, 404, 422})
_QUOTA_KINDS: Final = frozenset({
    "insufficient_quota", "billing_error", "billing_hard_limit_reached", "billing_not_active",
    "quota_exceeded",
})  # fmt: skip
"""Error types/codes that no retry will fix (OpenAI's `code`, Anthropic's `type`)."""


class HeaderAuth(httpx.Auth):
    """Sets one header from a `Secret` as the request is sent, so no caller holds it."""

    def __init__(self, header: str, secret: Secret, prefix: str = "") -> None:
        self.header = header
        self.secret = secret
        self.prefix = prefix

    def auth_flow(self, request: httpx.Request) -> typing.Generator[httpx.Request, Any, None]:
        """Add the header, then send."""
        request.headers[self.header] = self.prefix + self.secret.reveal()
        yield request

    def __repr__(self) -> str:
        return f"HeaderAuth({self.header!r}, {self.secret!r})"


class ProviderError(Exception):
    """A provider call failed; the message names the provider and what was wrong."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.detail = message
        """What was wrong, without the provider's name."""
        self.retryable = retryable
        """True for failures worth another attempt (timeouts, 429, 5xx…)."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait (Retry-After), if it said."""


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """Limits for one provider's calls."""

    deadline: float = 60.0
    """Seconds for a whole call (connect, send, every chunk of the body)."""
    max_bytes: int = 8 * 1024 * 1024
    """Largest decoded body accepted."""
    retries: int = 4
    """Extra attempts after the first, for retryable failures."""
    backoff: float = 0.5
    """First backoff in seconds; doubles per attempt, with jitter."""
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    """A server's Retry-After is honoured up to this many seconds."""


@dataclass
class Http:
    """An `httpx.AsyncClient` plus the rules above. Create per pull; `await close()`."""

    provider: str
    """Name used in every error message."""
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Strings that must never appear in a message (API keys); kept out of repr."""
    transport: httpx.AsyncBaseTransport | None = None
    """Injected in tests (httpx.MockTransport); None means real network."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """Injected in tests so backoff takes no wall time."""
    clock: Callable[[], float] = time.monotonic
    """Injected in tests together with `sleep` (the deadline counts the waits)."""
    client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(
            transport=self.transport,
            # Per-phase limits stay generous; the overall deadline below is the real one.
            timeout=httpx.Timeout(self.policy.deadline),
            follow_redirects=False,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()

    async def json(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        params: dict[str, str] | None = None,
        auth: httpx.Auth | None = None,
        parse: bool = True,
    ) -> tuple[Any, httpx.Headers]:
        """One call with retries; returns the decoded JSON body and the response headers.

        With `parse=False` any 2xx answer is accepted and the body is not read as JSON
        (webhooks often answer 204 with nothing).

        Raises:
            ProviderError: After the last attempt, or at once for a non-retryable failure.
        """
        attempt = 0
        # `deadline` bounds the record, retries and waits included: one 429 loop held
        # a record for minutes when each attempt had a deadline of its own.
        give_up = self.clock() + self.policy.deadline
        while True:
            left = give_up - self.clock()
            try:
                return await self._once(
                    method, url, headers or {}, body, params, auth, parse, within=left
                )
            except ProviderError as error:
                if not error.retryable or attempt >= self.policy.retries:
                    raise
                delay = error.retry_after
                if delay is None:
                    delay = min(self.policy.backoff_cap, self.policy.backoff * 2**attempt)
                    delay *= 0.5 + random.random() / 2  # jitter: don't stampede together
                if self.clock() + delay >= give_up:
                    raise ProviderError(
                        self.provider,
                        f"{error.detail} (gave up after {attempt + 1} attempts: the next "
                        f"would start past the {self.policy.deadline:g} s deadline)",
                    ) from None
                attempt += 1
                await self.sleep(delay)

    async def _once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        params: dict[str, str] | None,
        auth: httpx.Auth | None,
        parse: bool = True,
        *,
        within: float,
    ) -> tuple[Any, httpx.Headers]:
        try:
            async with asyncio.timeout(max(0.0, within)):
                async with self.client.stream(
                    method,
                    url,
                    headers=headers,
                    json=body,
                    params=params,
                    auth=auth or httpx.USE_CLIENT_DEFAULT,
                ) as response:
                    data = await self._read(response)
        except TimeoutError:
            raise self._error(
                f"no complete answer within {self.policy.deadline:g} s", retryable=True
            ) from None
        except httpx.TransportError as error:
            raise self._error(f"cannot reach {_origin(url)} ({type(error).__name__})",
                              retryable=True) from None  # fmt: skip
        except httpx.DecodingError:
            # A corrupt gzip/deflate body is not a TransportError: it used to escape.
            raise self._error("sent a body that does not decompress", retryable=True) from None
        except httpx.HTTPError as error:
            raise self._error(f"HTTP failure ({type(error).__name__})") from None
        if not parse:
            if response.status_code >= 400:
                raise self._status_error(response, data)
            return None, response.headers
        return self._decode(response, data), response.headers

    async def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.policy.max_bytes:
            raise self._error(
                f"answer of {int(declared):,} bytes refused (limit {self.policy.max_bytes:,})"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.policy.max_bytes:
                raise self._error(
                    f"answer grew past {self.policy.max_bytes:,} bytes once decompressed; refused"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _decode(self, response: httpx.Response, data: bytes) -> Any:
        status = response.status_code
        if status >= 400:
            raise self._status_error(response, data)
        kind = response.headers.get("content-type", "")
        if "html" in kind or data.lstrip()[:1] == b"<":
            raise self._error(f"returned an HTML page (status {status}), not JSON")
        try:
            return strict_json(data)
        except ValueError as error:
            raise self._error(f"returned malformed JSON ({error})") from None

    def _status_error(self, response: httpx.Response, data: bytes) -> ProviderError:
        status = response.status_code
        kind, code, detail = _error_body(data)
        if kind in _QUOTA_KINDS or code in _QUOTA_KINDS:
            return self._error(f"quota or spend limit reached ({status}): {detail}")
        should = response.headers.get("x-should-retry", "").strip().lower()
        retryable = status in RETRY_STATUSES or (status >= 500 and status not in FATAL_STATUSES)
        if should in ("true", "false"):
            retryable = should == "true"  # the server knows best (OpenAI, Anthropic send it)
        if not retryable:
            hint = {401: " (check the API key)", 403: " (not allowed)"}
            if status == 404 and not (kind or code or "not found" in detail.lower()):
                hint[404] = " (wrong URL?)"  # a server that names what is missing knows best
            return self._error(f"HTTP {status}{hint.get(status, '')}: {detail}")
        after = retry_after(response.headers, self.policy.retry_after_cap)
        return self._error(f"HTTP {status}: {detail}", retryable=True, retry_after=after)

    def _error(
        self, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> ProviderError:
        return ProviderError(
            self.provider, redact(message, self.secrets), retryable=retryable,
            retry_after=retry_after,
        )  # fmt: skip


def strict_json(data: bytes | str) -> Any:
    """Parse JSON refusing duplicate keys and NaN/Infinity."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(data, object_pairs_hook=no_duplicate_keys, parse_constant=constant)


def retry_after(headers: httpx.Headers, cap: float) -> float | None:
    """Seconds the server asked to wait, capped; None when it did not say.

    `retry-after-ms` first (OpenAI, Anthropic), else `Retry-After`: seconds (fractional
    too) or an HTTP date.
    """
    millis = (headers.get("retry-after-ms") or "").strip()
    try:
        if millis:
            return max(0.0, min(float(millis) / 1000, cap))
    except ValueError:
        pass
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, min(seconds, cap)) if seconds == seconds else None  # NaN: ignore
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), cap))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (and nothing shorter than 8 characters) with `[redacted]`."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "[redacted]")
    return text


def _error_body(data: bytes) -> tuple[str, str, str]:
    """(error type, error code, one-line detail) from an error body, JSON or not."""
    text = data[:2000].decode("utf-8", "replace")
    kind = code = ""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    if isinstance(error, dict):
        kind, code = str(error.get("type") or ""), str(error.get("code") or "")
        text = " ".join(str(error.get(k) or "") for k in ("type", "code", "message")).strip()
    elif isinstance(error, str):
        text = error  # Ollama: {"error": "model 'x' not found"}
    return kind, code, visible(" ".join(text.split()))[:200] or "(empty body)"


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
