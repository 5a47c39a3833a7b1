"""The control API (``tradeloop serve api``): the desk's state and its emergency controls
over HTTP, for dashboards and on-call tooling.

- ``GET /health``: kill switch, the latest daily report's state, the supervised stack.
- ``GET /status``: the same plus every paper and live account's trading state.
- ``GET /metrics``: every Prometheus text file in ``var/metrics`` (risk, daemon, ML
  report, backups, ingestion) in one scrape, plus this service's own counters.
- ``POST /halt`` ``{"reason": "..."}`` and ``POST /resume``: the kill switch, audited like
  the CLI's ``halt`` / ``resume``. Both need ``Authorization: Bearer $TRADELOOP_API_TOKEN``
  (without a token configured they are refused: control never goes unauthenticated).

Plain ASGI on uvicorn, like the scorer: nothing here needs a framework.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.serving.http_guard import HttpGuard
from tradeloop.usecases.daily_report import latest_state
from tradeloop.usecases.trading_control import AuditTrail, halt, kill_switch_reason, resume

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
MAX_BODY = 64 * 1024


class ControlApi:
    def __init__(
        self,
        *,
        home: Path,
        audit: AuditTrail,
        kill_switch: KillSwitch,
        halt_log: Path,
        api_token: str | None,
    ) -> None:
        self.home = home
        self.audit = audit
        self.kill_switch = kill_switch
        self.halt_log = halt_log
        self._token = api_token.encode() if api_token else None
        self.requests: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        key = f"{method} {path}"
        self.requests[key] = self.requests.get(key, 0) + 1
        if method == "GET" and path == "/health":
            return await _json(send, 200, self.health())
        if method == "GET" and path == "/status":
            return await _json(send, 200, {**self.health(), "accounts": self.accounts()})
        if method == "GET" and path == "/metrics":
            return await _send(
                send, 200, self.metrics().encode(), b"text/plain; version=0.0.4; charset=utf-8"
            )
        if method == "POST" and path in ("/halt", "/resume"):
            refusal = self._refusal(scope)
            if refusal is not None:
                return await _json(send, refusal[0], {"error": refusal[1]})
            body = await _body(receive)
            if body is None:
                return await _json(send, 413, {"error": "request body too large"})
            return await self._control(send, path, body)
        return await _json(send, 404, {"error": f"no route {method} {path}"})

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        if self._token is None:
            return 403, "control endpoints are off: set TRADELOOP_API_TOKEN"
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if not hmac.compare_digest(given, b"Bearer " + self._token):
            return 401, "missing or wrong bearer token"
        return None

    async def _control(self, send: Send, path: str, body: bytes) -> None:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return await _json(send, 422, {"error": "body is not JSON"})
        if not isinstance(payload, dict):
            return await _json(send, 422, {"error": "body must be a JSON object"})
        actor = str(payload.get("actor") or "api")[:64]
        now = time.time_ns()
        if path == "/halt":
            reason = payload.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                return await _json(send, 422, {"error": "field reason: say why trading stops"})
            halt(self.kill_switch, self.audit, self.halt_log, reason, actor, now)
            return await _json(send, 200, {"halted": True, "reason": reason})
        was = resume(self.kill_switch, self.audit, self.halt_log, actor, now)
        return await _json(send, 200, {"resumed": was is not None, "was": was})

    def health(self) -> dict[str, Any]:
        report = latest_state(self.home / "reports")
        stack = _read_json(self.home / "run" / "stack.json")
        return {
            "status": "ok",
            "kill_switch": kill_switch_reason(self.kill_switch),
            "report_state": report[0] if report else None,
            "report": report[1] if report else None,
            "stack": stack.get("components", {}) if stack else {},
        }

    def accounts(self) -> dict[str, Any]:
        found = {}
        for kind in ("paper", "live"):
            for state in sorted((self.home / kind).glob("*/risk_state.json")):
                payload = _read_json(state)
                found[f"{kind}/{state.parent.name}"] = {
                    "trading_state": payload.get("trading_state") if payload else "unreadable",
                    "reason": payload.get("state_reason", "") if payload else "",
                }
        return found

    def metrics(self) -> str:
        parts = []
        for path in sorted((self.home / "metrics").glob("*.prom")):
            try:
                parts.append(path.read_text())
            except OSError:
                continue
        lines = [
            "# HELP tradeloop_api_requests_total requests served, by route",
            "# TYPE tradeloop_api_requests_total counter",
        ]
        for key, count in sorted(self.requests.items()):
            method, _, route = key.partition(" ")
            lines.append(
                f'tradeloop_api_requests_total{{method="{method}",route="{route}"}} {count}'
            )
        engaged = 1 if self.kill_switch.is_engaged() else 0
        lines += [
            "# HELP tradeloop_kill_switch 1 while var/KILL_SWITCH is present",
            "# TYPE tradeloop_kill_switch gauge",
            f"tradeloop_kill_switch {engaged}",
        ]
        parts.append("\n".join(lines) + "\n")
        return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


async def _body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _send(send, status, json.dumps(payload).encode(), b"application/json")


async def _send(send: Send, status: int, body: bytes, kind: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app() -> HttpGuard:
    """uvicorn factory (``tradeloop.api.control:create_app``): settings and config from
    the environment (``TRADELOOP_HOME``, ``TRADELOOP_CONFIG``, ``TRADELOOP_API_TOKEN``).
    One app: the /v1 control plane (FastAPI, docs at /docs) and, under it, the desk's
    control routes above."""
    from tradeloop.api.v1 import create_v1_app
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.research import control_plane
    from tradeloop.settings import load_settings

    settings = load_settings()
    application = build_app(settings, settings.config)
    token = settings.api_token
    secret = token.get_secret_value() if token else None
    control = ControlApi(
        home=settings.home,
        audit=application.audit_trail(),
        kill_switch=application.kill_switch(),
        halt_log=settings.governance_halt_log,
        api_token=secret,
    )
    plane, start_worker = control_plane(settings, application.engine)
    v1 = create_v1_app(plane, secret, on_start=start_worker)
    v1.mount("/", control)  # what /v1 and /docs do not answer: the desk's routes
    api = application.config.api
    return HttpGuard(v1, allowed_hosts=api.allowed_hosts, rate_per_minute=api.rate_limit_per_minute)
