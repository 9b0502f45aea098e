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
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(policy: HttpPolicy | None = None, sleeps: Sleeps | None = None) -> Http:
    return Http("testprov", policy or HttpPolicy(deadline=5), secrets=(KEY,),
                sleep=sleeps or Sleeps())  # fmt: skip


async def test_ok(server: LoopbackServer) -> None:
    http = client()
    data, _ = await http.json("POST", f"{server.url}/v1/x", body={"a": 1})
    await http.close()
    assert data == {"ok": True, "path": "/v1/x"}


async def test_429_with_retry_after_then_success(server: LoopbackServer) -> None:
    server.script = [Behaviour("status", 429, {"retry-after": "7"}, b'{"error":"slow down"}')]
    sleeps = Sleeps()
    http = client(sleeps=sleeps)
    data, _ = await http.json("POST", f"{server.url}/v1/x")
    await http.close()
    assert data["ok"] is True
    assert sleeps.calls == [7.0]
    assert len(server.requests) == 2


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
    assert retry_after("12", 60) == 12
    assert retry_after("600", 60) == 60
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 60) == 0
    assert retry_after("soon", 60) is None
    with pytest.raises(ValueError, match="Infinity"):
        strict_json(b'{"x": Infinity}')
