"""The HTTP guard: DNS-rebinding Host check, cross-origin refusal, per-client rate limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tradeloop.serving.http_guard import HttpGuard, host_name


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(
    guard: HttpGuard,
    host: str,
    *,
    server: str = "127.0.0.1",
    client: str = "127.0.0.1",
    origin: str | None = None,
) -> tuple[int, dict[bytes, bytes], bytes]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/health",
        "headers": headers,
        "server": (server, 5003),
        "client": (client, 40000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


@pytest.mark.parametrize("host", ["localhost:5003", "127.0.0.1:5003", "[::1]:5003", "LOCALHOST"])
def test_guard_when_loopback_host_then_passes(host: str) -> None:
    assert _call(HttpGuard(_ok), host)[0] == 200


def test_guard_when_rebound_name_reaches_loopback_then_421() -> None:
    status, _, body = _call(HttpGuard(_ok), "attacker.example:5003")
    assert status == 421
    assert b"'attacker.example' is not served here" in body
    assert _call(HttpGuard(_ok, allowed_hosts=("desk.lan",)), "desk.lan:5003")[0] == 200


def test_guard_when_bound_beyond_loopback_then_host_free_unless_allow_listed() -> None:
    assert _call(HttpGuard(_ok), "10.0.0.5:5003", server="10.0.0.5")[0] == 200
    assert _call(HttpGuard(_ok), "anything", server="10.0.0.5")[0] == 200
    listed = HttpGuard(_ok, allowed_hosts=("desk.lan",))
    assert _call(listed, "other.lan", server="10.0.0.5")[0] == 421


def test_guard_when_cross_origin_browser_request_then_403() -> None:
    guard = HttpGuard(_ok)
    assert _call(guard, "localhost:5003", origin="http://localhost:8000")[0] == 200
    status, _, body = _call(guard, "localhost:5003", origin="https://evil.example")
    assert status == 403
    assert b"cross-origin request from 'evil.example' refused" in body


def test_guard_when_client_exceeds_rate_then_429_with_retry_after_and_others_unaffected() -> None:
    now = {"t": 1_000.0}
    guard = HttpGuard(_ok, rate_per_minute=3, clock=lambda: now["t"])
    assert [_call(guard, "localhost")[0] for _ in range(3)] == [200, 200, 200]
    status, headers, body = _call(guard, "localhost")
    assert status == 429
    assert headers[b"retry-after"] == b"20"  # one token per 20 s
    assert b"3 requests per minute per client" in body
    assert _call(guard, "localhost", client="127.0.0.2")[0] == 200  # per client
    now["t"] += 20.0
    assert _call(guard, "localhost")[0] == 200
    assert guard.refused == {"host": 0, "origin": 0, "rate": 1}


def test_host_name_when_ports_and_brackets_then_bare_host() -> None:
    assert host_name("Example.org:80") == "example.org"
    assert host_name("[::1]:5003") == "::1"
    assert host_name("::1") == "::1"


def test_guard_when_loopback_exempt_then_only_remote_clients_limited() -> None:
    guard = HttpGuard(_ok, rate_per_minute=1, limit_loopback=False, clock=lambda: 0.0)
    assert [_call(guard, "localhost")[0] for _ in range(5)] == [200] * 5  # the collector
    remote = [_call(guard, "10.0.0.5", server="10.0.0.5", client="10.0.0.9")[0] for _ in range(2)]
    assert remote == [200, 429]
