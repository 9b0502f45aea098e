"""The HTTP seam against a real loopback server: deadlines, caps, retries, strict JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from providers.http import Http, HttpPolicy, ProviderError, retry_after, strict_json
from tests.provider_tests.loopback import Answer, Behaviour, LoopbackServer, json_answer

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    def answer(path: str, body: dict[str, Any]) -> Answer:
        return json_answer({"ok": True, "path": path})

    with LoopbackServer(answer) as running:
        yield running


class Sleeps:
    """A sleep that takes no time but moves a clock, so deadlines see the waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(policy: HttpPolicy | None = None, sleeps: Sleeps | None = None) -> Http:
    sleeps = sleeps or Sleeps()
    return Http("testprov", policy or HttpPolicy(deadline=5), secrets=(KEY,),
                sleep=sleeps, clock=sleeps.clock)  # fmt: skip


async def test_ok(server: LoopbackServer) -> None:
    http = client()
    data, _ = await http.json("POST", f"{server.url}/v1/x", body={"a": 1})
    await http.close()
    assert data == {"ok": True, "path": "/v1/x"}


async def test_429_with_retry_after_then_success(server: LoopbackServer) -> None:
    server.script = [Behaviour("status", 429, {"retry-after": "7"}, b'{"error":"slow down"}')]
    sleeps = Sleeps()
    http = client(HttpPolicy(deadline=10), sleeps)
    data, _ = await http.json("POST", f"{server.url}/v1/x")
    await http.close()
    assert data["ok"] is True
    assert sleeps.calls == [7.0]
    assert len(server.requests) == 2


async def test_retries_stop_at_the_deadline_waits_included(server: LoopbackServer) -> None:
    # Seen before: one 429 loop held a record for about four minutes.
    server.script = [Behaviour("status", 429, {"retry-after": "2"}, b"{}")] * 10
    sleeps = Sleeps()
    http = client(HttpPolicy(deadline=5, retries=8), sleeps)
    with pytest.raises(ProviderError, match=r"gave up after 3 attempts.*5 s deadline"):
        await http.json("POST", f"{server.url}/v1/x")
    await http.close()
    assert sleeps.calls == [2.0, 2.0]  # 4 s of waiting; a third wait would pass 5 s


@pytest.mark.parametrize(
    ("status", "headers", "body", "attempts", "says"),
    [
        # The server's own word beats the status code, both ways.
        (503, {"x-should-retry": "false"}, b"{}", 1, "HTTP 503"),
        (400, {"x-should-retry": "true"}, b"{}", 2, None),
        # Quota from the error's type/code, not from words in its message.
        (429, {}, b'{"error":{"type":"insufficient_quota","message":"x"}}', 1, "quota"),
        (429, {}, b'{"error":{"type":"rate_limit_error","message":"billing soon"}}', 2, None),
    ],
)  # fmt: skip
async def test_what_the_server_says_decides_a_retry(
    server: LoopbackServer,
    status: int,
    headers: dict[str, str],
    body: bytes,
    attempts: int,
    says: str | None,
) -> None:
    server.script = [Behaviour("status", status, headers, body)]
    http = client(HttpPolicy(deadline=10))
    try:
        if says is None:
            await http.json("POST", f"{server.url}/v1/x")
        else:
            with pytest.raises(ProviderError, match=says):
                await http.json("POST", f"{server.url}/v1/x")
    finally:
        await http.close()
    assert len(server.requests) == attempts


async def test_5xx_twice_then_success_backs_off(server: LoopbackServer) -> None:
    server.script = [Behaviour("status", 503), Behaviour("status", 529)]
    sleeps = Sleeps()
    http = client(HttpPolicy(deadline=5, backoff=1.0), sleeps)
    await http.json("POST", f"{server.url}/v1/x")
    await http.close()
    assert len(sleeps.calls) == 2
    assert 0.5 <= sleeps.calls[0] <= 1.0
    assert 1.0 <= sleeps.calls[1] <= 2.0


@pytest.mark.parametrize(
    ("behaviour", "message", "attempts"),
    [
        (Behaviour("status", 401, body=b'{"error":{"message":"bad key"}}'), "check the API key", 1),
        (Behaviour("status", 404), "wrong URL", 1),
        (Behaviour("status", 422), "HTTP 422", 1),
        (Behaviour("status", 429, body=b'{"error":{"code":"insufficient_quota"}}'), "quota", 1),
        (Behaviour("html", 200, body=b"<html>Login</html>"), "HTML page", 1),
        (Behaviour("raw", 200, body=b'{"a": 1'), "malformed JSON", 1),
        (Behaviour("raw", 200, body=b'{"a": 1, "a": 2}'), "appears twice", 1),
        (Behaviour("raw", 200, body=b'{"a": NaN}'), "NaN", 1),
    ],
)
async def test_failures_that_are_not_retried(
    server: LoopbackServer, behaviour: Behaviour, message: str, attempts: int
) -> None:
    server.script = [behaviour, Behaviour("status", 200, body=b"{}")]
    http = client()
    with pytest.raises(ProviderError, match=message) as error:
        await http.json("POST", f"{server.url}/v1/x", headers={"x-api-key": KEY})
    await http.close()
    assert len(server.requests) == attempts
    assert str(error.value).startswith("testprov: ")
    assert KEY not in str(error.value)


async def test_a_dripping_server_hits_the_overall_deadline(server: LoopbackServer) -> None:
    server.script = [Behaviour("drip", every=0.3)]
    http = client(HttpPolicy(deadline=1.0, retries=0))
    with pytest.raises(ProviderError, match="no complete answer within 1 s"):
        await http.json("POST", f"{server.url}/v1/x")
    await http.close()


async def test_a_truncated_body_is_an_error_then_retried(server: LoopbackServer) -> None:
    server.script = [Behaviour("truncate", body=b'{"ok": tr')]
    http = client()
    data, _ = await http.json("POST", f"{server.url}/v1/x")
    await http.close()
    assert data["ok"] is True
    assert len(server.requests) == 2


async def test_a_gzip_bomb_is_refused_while_reading(server: LoopbackServer) -> None:
    server.script = [Behaviour("gzip_bomb")]
    http = client(HttpPolicy(deadline=10, max_bytes=1024 * 1024))
    with pytest.raises(ProviderError, match="once decompressed"):
        await http.json("POST", f"{server.url}/v1/x")
    await http.close()


async def test_an_oversized_content_length_is_refused_before_reading(
    server: LoopbackServer,
) -> None:
    server.script = [Behaviour("huge_length")]
    http = client(HttpPolicy(deadline=5, max_bytes=1024))
    with pytest.raises(ProviderError, match="refused"):
        await http.json("POST", f"{server.url}/v1/x")
    await http.close()


async def test_connection_refused_is_retried_then_reported() -> None:
    sleeps = Sleeps()
    http = client(HttpPolicy(deadline=2, retries=2), sleeps)
    with pytest.raises(ProviderError, match=re.escape("cannot reach http://127.0.0.1:9")):
        await http.json("POST", "http://127.0.0.1:9/v1/x")
    await http.close()
    assert len(sleeps.calls) == 2


async def test_mock_transport_seam() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"fine": 1})

    http = Http("mock", transport=httpx.MockTransport(handler))
    data, _ = await http.json("GET", "http://127.0.0.1/anything", params={"q": "1"})
    await http.close()
    assert data == {"fine": 1}
    assert seen[0].url.params["q"] == "1"


def test_retry_after_parsing() -> None:
    def after(**headers: str) -> float | None:
        return retry_after(httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()}), 60)

    assert after(retry_after="12") == 12
    assert after(retry_after="600") == 60
    assert after(retry_after="1.5") == 1.5  # fractional seconds were read as "no date"
    assert after(retry_after="Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert after(retry_after="soon") is None
    assert after(retry_after_ms="250", retry_after="9") == 0.25
    assert after() is None
    with pytest.raises(ValueError, match="Infinity"):
        strict_json(b'{"x": Infinity}')
