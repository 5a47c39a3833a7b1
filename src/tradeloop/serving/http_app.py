"""The scorer's HTTP surface as a plain ASGI application.

A framework router costs more per request than scoring one event with ONNX Runtime, and
this server has five fixed routes, so it speaks ASGI directly (served by uvicorn):

- ``POST /score``   score events (body per ``ops/scoring_client.py``); with a token
  configured it needs the bearer token too (scores feed the daily report and its kill
  switch: nobody else may add to them)
- ``GET /health``   models per alias, loaded at, age, parity, staleness state
- ``POST /reload``  bearer token (TRADELOOP_API_TOKEN); 401 without, 409 if the load fails
- ``GET /metrics``  Prometheus text format
- ``POST /v1/inference/predict/{symbol}``  the symbol's prediction curve (100 horizons,
  their uncertainty, optimal horizon and return, risk score, direction) from the curve
  model aliased ``active``; the bearer token when one is configured, as ``/score``; 404
  for a symbol without enough stored history, 503 while no curve model is active
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradeloop.core.errors import DataError
from tradeloop.serving.curve_service import CurvePredictor
from tradeloop.serving.service import ReloadError, RequestError, ScoringService

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger(__name__)
_JSON = [(b"content-type", b"application/json")]
PREDICT = "/v1/inference/predict/"
SYMBOL = re.compile(r"^[A-Za-z0-9^=._-]{1,32}$")


class ScorerApp:
    """ASGI callable around a ScoringService."""

    def __init__(
        self,
        service: ScoringService,
        api_token: str | None,
        on_shutdown: Callable[[], None] | None = None,
        curve_loader: Callable[[], CurvePredictor] | None = None,
    ) -> None:
        self.service = service
        self._token = api_token.encode() if api_token else None
        self._on_shutdown = on_shutdown
        self._curve_loader = curve_loader
        self.curves: CurvePredictor | None = None
        self.curve_error = "no curve model configured"
        self._load_curves()

    def _load_curves(self) -> None:
        """(Re)load the curve model; a failure keeps the one loaded before."""
        if self._curve_loader is None:
            return
        try:
            self.curves = self._curve_loader()
            self.curve_error = ""
        except DataError as exc:
            self.curve_error = str(exc)
            log.warning("prediction curve not served: %s", exc)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/score" and method == "POST":
            body = await self._body(receive)
            if body is None:
                await _send_json(send, 413, {"error": "request body too large"})
                return
            if self._token is not None and not self._authorized(scope):
                await _send_json(send, 401, {"error": "missing or wrong bearer token"})
                return
            client = scope.get("client") or ("unknown", 0)
            try:
                answer = self.service.score_body(body, source=f"scorer {client[0]}")
            except RequestError as exc:
                await _send_json(send, exc.status, {"error": exc.message})
                return
            await _send_json(send, 200, answer)
        elif path.startswith(PREDICT) and method == "POST":
            await self._body(receive)
            await self._predict(scope, send, path.removeprefix(PREDICT))
        elif path == "/health" and method == "GET":
            health = self.service.health()
            await _send_json(send, 200, health)
        elif path == "/metrics" and method == "GET":
            self._refresh_gauges()
            payload = generate_latest(self.service.metrics.registry)
            await _send(send, 200, payload, [(b"content-type", CONTENT_TYPE_LATEST.encode())])
        elif path == "/reload" and method == "POST":
            await self._body(receive)
            await self._reload(scope, send)
        elif path in ("/score", "/health", "/metrics", "/reload"):
            await _send_json(send, 405, {"error": f"{method} not allowed on {path}"})
        else:
            await _send_json(send, 404, {"error": f"no route {path}"})

    async def _predict(self, scope: Scope, send: Send, symbol: str) -> None:
        if self._token is not None and not self._authorized(scope):
            await _send_json(send, 401, {"error": "missing or wrong bearer token"})
            return
        curves = self.curves
        if curves is None:
            await _send_json(send, 503, {"error": f"no prediction curve: {self.curve_error}"})
            return
        if not SYMBOL.match(symbol):
            await _send_json(send, 422, {"error": f"symbol {symbol[:40]!r} is not a symbol"})
            return
        try:
            # features may need a database read: off the event loop
            answer = await asyncio.to_thread(curves.predict, symbol)
        except DataError as exc:
            await _send_json(send, 404, {"error": str(exc)})
            return
        await _send_json(send, 200, answer)

    async def _reload(self, scope: Scope, send: Send) -> None:
        if self._token is None:
            await _send_json(
                send,
                401,
                {
                    "error": "reload is disabled: set TRADELOOP_API_TOKEN "
                    "on the server and send it as a bearer token"
                },
            )
            return
        if not self._authorized(scope):
            await _send_json(send, 401, {"error": "missing or wrong bearer token"})
            return
        try:
            # Loading verifies every file and builds sessions: off the event loop, so scoring
            # goes on meanwhile; the swap itself is one assignment.
            described = await asyncio.to_thread(self.service.reload)
            await asyncio.to_thread(self._load_curves)
        except ReloadError as exc:
            await _send_json(
                send, 409, {"error": f"reload refused, still serving the previous models: {exc}"}
            )
            return
        await _send_json(send, 200, {"reloaded": True, **described})

    def _authorized(self, scope: Scope) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"")
        return self._token is not None and hmac.compare_digest(header, b"Bearer " + self._token)

    def _refresh_gauges(self) -> None:
        _, hours = self.service.staleness()
        if hours is not None:
            self.service.metrics.age.set(hours * 3600)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks, size, limit = [], 0, self.service.config.max_body_bytes
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown is not None:
                    # Flush pending predictions before the process exits (SIGTERM included).
                    await asyncio.to_thread(self._on_shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    await _send(send, status, body, _JSON)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
