"""The browser desk on the control plane's app: the built pages under ``/ui/`` (``/``
redirects there), the desk's data, and the model registry's promote / rollback.

- ``GET /v1/desk``: accounts (mode, trading state, equity, the day's PnL), kill switch,
  the daily ML report's state and plots, risk denials by code, model aliases, services;
- ``GET /v1/desk/accounts/{mode}/{name}``: positions, open orders, recent fills, equity
  and drawdown by session;
- ``GET /v1/desk/reports/{name}.png``: a report plot;
- ``POST /v1/models/{name}/promote`` ``{"ref", "to", "reason", "force"}`` and
  ``POST /v1/models/{name}/rollback`` ``{"reason"}``: the governance gates decide (409 with
  the gate's reasons when they refuse); both need the token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from tradeloop.core.errors import ConfigError, DataError, GateRejected
from tradeloop.usecases.desk_view import DeskView

STATIC = Path(__file__).resolve().parent / "static" / "ui"


class PromoteRequest(BaseModel):
    ref: str = Field("candidate", min_length=1, max_length=64)
    to: str = Field("active", pattern=r"^(active|shadow|candidate)$")
    reason: str = Field("", max_length=500)
    force: bool = False


class RollbackRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _json(payload: dict[str, Any]) -> Response:
    """Serialized at once: an equity curve of 10,000 sessions through FastAPI's per-value
    encoder costs more than the whole query."""
    return Response(
        json.dumps(payload, default=str, allow_nan=False), media_type="application/json"
    )


def add_desk_routes(
    app: FastAPI, desk: DeskView, registry_for: Callable[[], Any], require_token: Any
) -> None:
    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/v1/desk")
    def summary() -> Response:
        return _json(desk.summary())

    @app.get("/v1/desk/accounts/{mode}/{name}")
    def account(mode: str, name: str) -> Response:
        try:
            return _json(desk.account(mode, name))
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/v1/desk/reports/{name}")
    def plot(name: str) -> Response:
        try:
            return Response(desk.plot(name), media_type="image/png")
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.post("/v1/models/{name}/promote")
    def promote(
        name: str, body: PromoteRequest, actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        registry = registry_for()
        try:
            version = registry.find(body.ref, name).model_version_id
            done = registry.promote(name, version, body.to, actor=actor, reason=body.reason,
                                    force=body.force)  # fmt: skip
        except GateRejected as exc:
            raise HTTPException(409, str(exc)) from None
        except DataError as exc:
            raise HTTPException(422, str(exc).splitlines()[0]) from None
        return {"model": name, "version": version, "alias": body.to, "decision": done.decision,
                "previous": done.previous_version_id}  # fmt: skip

    @app.post("/v1/models/{name}/rollback")
    def rollback(
        name: str, body: RollbackRequest, actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        registry = registry_for()
        try:
            done = registry.rollback(name, actor=actor, reason=body.reason)
        except DataError as exc:
            raise HTTPException(422, str(exc).splitlines()[0]) from None
        return {"model": name, "decision": done.decision, "previous": done.previous_version_id,
                "active": registry.resolve(name, "active")}  # fmt: skip

    if STATIC.is_dir():
        app.mount("/ui", StaticFiles(directory=STATIC, html=True), name="ui")
