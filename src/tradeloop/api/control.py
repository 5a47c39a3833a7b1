"""The control API (``tradeloop serve api``): the desk's state and its emergency controls
over HTTP, for dashboards and on-call tooling.

- ``GET /health``: kill switch, the latest daily report's state, the supervised stack.
- ``GET /status``: the same plus every paper and live account's trading state.
- ``GET /metrics``: every Prometheus text file in ``var/metrics`` (risk, daemon, ML
  report, backups, ingestion) in one scrape, plus this service's own counters.
- ``POST /halt`` ``{"reason": "..."}`` and ``POST /resume``: the kill switch, audited like
  the CLI's ``halt`` / ``resume``. Both need ``Authorization: Bearer $TRADELOOP_API_TOKEN``
  (without a token configured they are refused: control never goes unauthenticated).

These are routes of the control plane's FastAPI app (``api/v1.py``), in its OpenAPI docs
and under its token rule; this module keeps what they read and do.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.serving.http_guard import HttpGuard
from tradeloop.usecases.daily_report import latest_state
from tradeloop.usecases.trading_control import AuditTrail, halt, kill_switch_reason, resume


class ControlApi:
    def __init__(
        self,
        *,
        home: Path,
        audit: AuditTrail,
        kill_switch: KillSwitch,
        halt_log: Path,
    ) -> None:
        self.home = home
        self.audit = audit
        self.kill_switch = kill_switch
        self.halt_log = halt_log
        self.requests: dict[str, int] = {}

    def halt(self, reason: str, actor: str) -> dict[str, Any]:
        halt(self.kill_switch, self.audit, self.halt_log, reason, actor[:64], time.time_ns())
        return {"halted": True, "reason": reason}

    def resume(self, actor: str) -> dict[str, Any]:
        was = resume(self.kill_switch, self.audit, self.halt_log, actor[:64], time.time_ns())
        return {"resumed": was is not None, "was": was}

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


class HaltRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why trading stops")
    actor: str | None = Field(None, max_length=64)

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why trading stops")
        return value


class ResumeRequest(BaseModel):
    actor: str | None = Field(None, max_length=64)


def add_control_routes(app: FastAPI, control: ControlApi, require_token: Any) -> None:
    """The desk's routes on the control plane's app; a request counter for /metrics."""

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        route = request.scope.get("route")
        key = f"{request.method} {getattr(route, 'path', 'unmatched')}"
        control.requests[key] = control.requests.get(key, 0) + 1
        return response

    @app.get("/health")
    def health() -> dict[str, Any]:
        return control.health()

    @app.get("/status")
    def status() -> dict[str, Any]:
        return {**control.health(), "accounts": control.accounts()}

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(control.metrics(), media_type="text/plain; version=0.0.4")

    @app.post("/halt")
    def halt_route(body: HaltRequest, actor: str = Depends(require_token)) -> dict[str, Any]:
        return control.halt(body.reason, body.actor or actor)

    @app.post("/resume")
    def resume_route(
        body: ResumeRequest | None = None, actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        return control.resume((body.actor if body else None) or actor)


def create_app() -> HttpGuard:
    """uvicorn factory (``tradeloop.api.control:create_app``): settings and config from
    the environment (``TRADELOOP_HOME``, ``TRADELOOP_CONFIG``, ``TRADELOOP_API_TOKEN``).
    One app: the /v1 control plane and the desk's routes above (FastAPI, docs at /docs)."""
    from tradeloop.api.v1 import create_v1_app, token_guard
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
    )
    plane, start_worker = control_plane(settings, application.engine)
    v1 = create_v1_app(plane, secret, on_start=start_worker)
    add_control_routes(v1, control, token_guard(secret))
    from tradeloop.api.desk import add_desk_routes
    from tradeloop.api.stream import stream_for
    from tradeloop.bootstrap.desk import desk_view

    add_desk_routes(v1, desk_view(application), application.registry, token_guard(secret))
    stream = stream_for(settings)
    if stream is not None:  # the order-book stream on the same origin, for the pages
        v1.mount("/stream", stream)
    api = application.config.api
    return HttpGuard(v1, allowed_hosts=api.allowed_hosts, rate_per_minute=api.rate_limit_per_minute)
