"""An ASGI guard in front of tradeloop's HTTP services (scorer, control API).

- **Host** (DNS rebinding): a request that reached a loopback address must name a loopback
  host (``localhost``, ``127.0.0.1``, ``::1``), the address itself or one of
  ``allowed_hosts``; otherwise a web page on another name that resolved to 127.0.0.1 could
  drive the server from a browser. Requests on other interfaces are checked against
  ``allowed_hosts`` when it is set. Refused with 421 Misdirected Request.
- **Origin**: a browser's cross-origin request (an ``Origin`` header) must come from a
  host allowed by the same rule; 403 otherwise.
- **Rate**: at most ``rate_per_minute`` requests per client address (a token bucket, so
  short bursts pass); 429 with ``Retry-After`` beyond it. With ``limit_loopback`` off,
  clients on this machine (the collector feeding the scorer) are not limited: the Host
  check already keeps browsers' rebinding out, and the limit is for the network.

Idle connections are closed by the server itself (uvicorn's keep-alive timeout).
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_MAX_CLIENTS = 10_000  # buckets kept; the idle ones are dropped past it


def host_name(header: str) -> str:
    """The host of a ``Host`` header (port and IPv6 brackets removed), lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


class HttpGuard:
    """Wraps an ASGI ``app``; lifespan and every allowed request pass through unchanged."""

    def __init__(
        self,
        app: App,
        *,
        allowed_hosts: tuple[str, ...] = (),
        rate_per_minute: int | None = None,
        limit_loopback: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limit_loopback = limit_loopback
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.rate_per_minute = rate_per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self.refused: dict[str, int] = {"host": 0, "origin": 0, "rate": 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # the wrapped app's own attributes (service, ...)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        local = str((scope.get("server") or ("", 0))[0] or "")
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if not self._allowed(host, local):
            self.refused["host"] += 1
            await _refuse(
                send,
                421,
                f"Host {host or '(none)'!r} is not served here; use "
                "localhost, or add the name to allowed_hosts in the config",
            )
            return
        origin = headers.get(b"origin")
        if origin is not None:
            origin_host = (urlsplit(origin.decode("latin-1")).hostname or "").lower()
            if not self._allowed(origin_host, local):
                self.refused["origin"] += 1
                await _refuse(send, 403, f"cross-origin request from {origin_host!r} refused")
                return
        client = str((scope.get("client") or ("unknown", 0))[0])
        wait = self._take(client) if self.limit_loopback or not is_loopback(client) else 0.0
        if wait > 0:
            self.refused["rate"] += 1
            await _refuse(
                send,
                429,
                f"rate limit: {self.rate_per_minute} requests per minute per client; "
                f"retry in {wait:.1f} s",
                [(b"retry-after", str(math.ceil(wait)).encode())],
            )
            return
        await self.app(scope, receive, send)

    def _allowed(self, host: str, local: str) -> bool:
        if host in LOOPBACK_NAMES or host in self.allowed_hosts or (host and host == local):
            return True
        # On a non-loopback interface with no allow-list the bearer token is the guard.
        return not is_loopback(local) and not self.allowed_hosts

    def _take(self, client: str) -> float:
        """Take one token of ``client``'s bucket; seconds to wait when it is empty."""
        if self.rate_per_minute is None:
            return 0.0
        now, capacity = self._clock(), float(self.rate_per_minute)
        tokens, at = self._buckets.get(client, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * capacity / 60.0)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) * 60.0 / capacity
        if len(self._buckets) >= _MAX_CLIENTS and client not in self._buckets:
            self._buckets.clear()  # a flood of addresses: start over rather than grow
        self._buckets[client] = (tokens - 1.0, now)
        return 0.0


async def _refuse(
    send: Send, status: int, error: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
