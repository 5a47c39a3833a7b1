"""The /v1 control plane (FastAPI; OpenAPI at ``/docs``), served by ``tradeloop serve
api`` together with the desk's control routes.

- ``GET /v1/experiments/runs``: the results store's runs (``?experiment=``, ``?limit=``);
  ``GET /v1/experiments/runs/{id}``: one run (an id prefix) with its trades, cumulative PnL
  and drawdown in ticks (evaluated again: the evaluation is deterministic).
- ``POST /v1/jobs/experiments`` ``{"experiment", "dataset_id"?}``: queue a run (202);
  ``GET /v1/jobs/experiments`` (recent jobs), ``GET /v1/jobs/experiments/{id}``,
  ``POST /v1/jobs/experiments/{id}/cancel`` (honoured between sweep points; 409 once the
  job finished), ``GET /v1/jobs/experiments/{id}/events`` (Server-Sent Events: queued,
  started, progress, done / failed / cancelled; ``Last-Event-ID`` resumes),
  ``GET /v1/jobs/experiments/{id}/artifacts`` and ``.../artifacts/{name}``.
- ``POST /v1/gold/validate|preview|compare`` (a Gold DSL spec; preview and compare run it
  on a dataset's first bins), ``GET /v1/gold/from_legacy?serving=NAME`` (a serving's gold
  parameters as DSL).
- ``/v1/modeling/sessions`` (POST create, GET list), ``/v1/modeling/sessions/{id}`` (GET),
  ``POST .../steps/{step}`` (commit: 409 when the step before is not committed),
  ``POST .../steps/{step}/preview``, ``POST .../promote``: the Model Studio's wizard.
- ``/v1/workspaces`` (POST create, GET list), ``/v1/workspaces/{id}`` (GET),
  ``PUT /v1/workspaces/{id}/members/{member}`` ``{"role"}``, ``DELETE`` the same: teams'
  jobs and sessions kept apart (``workspace_id`` on submit / create, ``?workspace_id=`` on
  lists). The caller's name is the ``X-Tradeloop-Actor`` header (default ``api``); in a
  workspace with members, a change needs the caller to hold the role (403 otherwise).
- ``GET /v1/serving/versions``, ``GET /v1/serving/aliases``,
  ``POST /v1/serving/aliases/{alias}/activate`` ``{"serving_id", "reason"}`` (the
  rollback: a repoint, audited), ``GET /v1/serving/diff?a=ID&b=ID``.

Every route that changes something needs ``Authorization: Bearer $TRADELOOP_API_TOKEN``
(without a token configured they are refused); bodies over 1 MB get 413.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.domain.research_job import FINISHED
from tradeloop.research.control_plane import ControlPlane
from tradeloop.research.jobs import JobStore, submit_job
from tradeloop.research.serving_registry import diff_servings
from tradeloop.research.workspaces import WorkspaceDenied, WorkspaceExists

MAX_BODY = 1 << 20


WORKSPACE = Field("default", pattern=r"^[a-z0-9][a-z0-9_.-]{0,47}$")
ACTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class JobRequest(BaseModel):
    experiment: str = Field(min_length=1, max_length=128)
    dataset_id: str | None = Field(None, max_length=32)
    workspace_id: str = WORKSPACE


class WorkspaceRequest(BaseModel):
    workspace_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,47}$")
    title: str = Field("", max_length=128)


class MemberRequest(BaseModel):
    role: Literal["viewer", "editor", "owner"]


class GoldRequest(BaseModel):
    spec: dict[str, Any]
    dataset_id: str | None = Field(None, max_length=32)
    bins: int = Field(500, ge=1, le=100_000)


class GoldCompareRequest(BaseModel):
    a: dict[str, Any]
    b: dict[str, Any]
    dataset_id: str = Field(max_length=32)
    bins: int = Field(500, ge=1, le=100_000)


class SessionRequest(BaseModel):
    name: str = Field(min_length=1, max_length=48)
    workspace_id: str = WORKSPACE


class ActivateRequest(BaseModel):
    serving_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    reason: str = Field(min_length=1, max_length=500)


def token_guard(api_token: str | None) -> Callable[[Request], str]:
    def require_token(request: Request) -> str:
        if api_token is None:
            raise HTTPException(
                401, "changes are disabled: set TRADELOOP_API_TOKEN on the server and send "
                "it as a bearer token",
            )  # fmt: skip
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {api_token}".encode()):
            raise HTTPException(401, "missing or wrong bearer token")
        actor = request.headers.get("x-tradeloop-actor", "api")
        if not ACTOR.match(actor):
            raise HTTPException(
                422, f"X-Tradeloop-Actor {actor[:80]!r}: letters, digits, _ . @ - (<= 64)"
            )
        return actor

    return require_token


def _known(call: Callable[[], Any]) -> Any:
    """Run ``call``; a config or data problem is the client's 404 / 422, never a 500."""
    try:
        return call()
    except ConfigError as exc:
        raise HTTPException(404, str(exc).splitlines()[0]) from None
    except DataError as exc:
        raise HTTPException(422, str(exc).splitlines()[0]) from None


def _allow(plane: ControlPlane, workspace_id: str, actor: str, need: str) -> None:
    """403 unless ``actor`` holds ``need`` in the workspace (404 for an unknown one)."""
    if plane.workspaces is None:
        if workspace_id != "default":
            raise HTTPException(404, f"no workspace {workspace_id!r} (workspaces are off)")
        return
    _workspace_call(lambda: plane.workspaces.authorize(workspace_id, actor, need))  # type: ignore[union-attr]


def _workspace_call(call: Callable[[], Any]) -> Any:
    """A refusal is 403, an unknown workspace or member 404, bad input 422."""
    try:
        return call()
    except WorkspaceDenied as exc:
        raise HTTPException(403, str(exc)) from None
    except WorkspaceExists as exc:
        raise HTTPException(409, str(exc)) from None
    except ConfigError as exc:
        message = str(exc).splitlines()[0]
        raise HTTPException(404 if message.startswith("no ") else 422, message) from None


def create_v1_app(
    plane: ControlPlane, api_token: str | None, on_start: Callable[[], None] | None = None
) -> FastAPI:
    """``on_start``: run once when the server starts (the in-process job worker)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if on_start is not None:
            on_start()
        yield

    app = FastAPI(title="tradeloop control plane", version="1", lifespan=lifespan)
    require_token = token_guard(api_token)

    @app.middleware("http")
    async def body_limit(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return JSONResponse({"detail": f"request body over {MAX_BODY} bytes"}, 413)
        return await call_next(request)

    @app.get("/v1/experiments/runs")
    def runs(experiment: str | None = None, limit: int = 500) -> dict[str, Any]:
        found = [r for r in plane.results.runs() if experiment in (None, r["experiment"])]
        return {"runs": found[-limit:]}

    @app.get("/v1/experiments/runs/{run_id}")
    def run_detail(run_id: str) -> dict[str, Any]:
        found = plane.results.run(run_id)
        if found is None:
            raise HTTPException(404, f"no run {run_id!r} (or the prefix is ambiguous)")
        trades = _known(lambda: plane.runner_for().trades(found))
        return {"run": found, "trades": trades}

    for routes in (_job_routes, _serving_routes, _gold_routes, _studio_routes, _workspace_routes):
        routes(app, plane, require_token)
    return app


def _job_routes(app: FastAPI, plane: ControlPlane, require_token: Any) -> None:
    """/v1/jobs/experiments: submit, list, get, cancel, events, artifacts."""

    @app.post("/v1/jobs/experiments", status_code=202)
    def submit(body: JobRequest, actor: str = Depends(require_token)) -> dict[str, Any]:
        _allow(plane, body.workspace_id, actor, "editor")
        job = _known(
            lambda: submit_job(
                plane.jobs, plane.queue, plane.runner_for, job_id=uuid.uuid4().hex,
                experiment=body.experiment, dataset_id=body.dataset_id, actor=actor,
                now=plane.clock(), workspace_id=body.workspace_id,
            )
        )  # fmt: skip
        return job.public()  # type: ignore[no-any-return]

    @app.get("/v1/jobs/experiments")
    def jobs(limit: int = 100, workspace_id: str | None = None) -> dict[str, Any]:
        return {"jobs": [job.public() for job in plane.jobs.recent(limit, workspace_id)]}

    def _job(job_id: str) -> Any:
        job = plane.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    @app.get("/v1/jobs/experiments/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        found = _job(job_id)
        return {**found.public(), "artifacts": plane.jobs.artifacts(job_id)}

    @app.post("/v1/jobs/experiments/{job_id}/cancel")
    def cancel(job_id: str, actor: str = Depends(require_token)) -> dict[str, Any]:
        found = _job(job_id)
        _allow(plane, found.workspace_id, actor, "editor")
        if found.state in FINISHED:
            raise HTTPException(409, f"job {job_id} already finished: nothing to cancel")
        cancelled = plane.jobs.request_cancel(job_id, plane.clock())
        return cancelled.public() if cancelled else {}

    @app.get("/v1/jobs/experiments/{job_id}/events")
    async def events(job_id: str, request: Request) -> StreamingResponse:
        _job(job_id)
        start = request.headers.get("last-event-id", "0")
        after = int(start) if start.isdigit() else 0
        return StreamingResponse(
            _event_stream(plane.jobs, job_id, after, request), media_type="text/event-stream"
        )

    @app.get("/v1/jobs/experiments/{job_id}/artifacts")
    def artifacts(job_id: str) -> dict[str, Any]:
        _job(job_id)
        return {"artifacts": plane.jobs.artifacts(job_id)}

    @app.get("/v1/jobs/experiments/{job_id}/artifacts/{name}")
    def artifact(job_id: str, name: str) -> PlainTextResponse:
        found = plane.jobs.artifact(job_id, name)
        if found is None:
            raise HTTPException(404, f"job {job_id} has no artifact {name!r}")
        return PlainTextResponse(found[1], media_type=found[0])


def _serving_routes(app: FastAPI, plane: ControlPlane, require_token: Any) -> None:
    """/v1/serving: versions, aliases, activate, diff."""

    @app.get("/v1/serving/versions")
    def versions() -> dict[str, Any]:
        registry = _known(plane.registry_for)
        return {"versions": [v.model_dump(mode="json") for v in registry.versions()]}

    @app.get("/v1/serving/aliases")
    def aliases() -> dict[str, Any]:
        return {"aliases": _known(plane.registry_for).activations.aliases()}

    @app.post("/v1/serving/aliases/{alias}/activate")
    def activate(
        alias: str, body: ActivateRequest, actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        registry = _known(plane.registry_for)
        previous = _known(
            lambda: registry.activate(alias, body.serving_id, actor, body.reason, plane.clock())
        )
        return {"alias": alias, "serving_id": body.serving_id, "previous": previous}

    @app.get("/v1/serving/diff")
    def diff(a: str, b: str) -> dict[str, Any]:
        registry = _known(plane.registry_for)
        first, second = _known(lambda: registry.version(a)), _known(lambda: registry.version(b))
        return {"a": a, "b": b, "differences": diff_servings(first, second)}


def _gold_routes(app: FastAPI, plane: ControlPlane, require_token: Any) -> None:
    """/v1/gold: validate, preview, compare, from_legacy."""

    def _dsl(spec: dict[str, Any]) -> Any:
        from pydantic import ValidationError

        from tradeloop.core.config import format_validation_error
        from tradeloop.features.dsl.gold_dsl import GoldDslSpec

        try:
            return GoldDslSpec.model_validate(spec)
        except ValidationError as exc:
            raise HTTPException(
                422, format_validation_error("spec", GoldDslSpec, exc).splitlines()[0]
            ) from None

    def _run_dsl(spec: dict[str, Any], dataset_id: str | None, bins: int) -> dict[str, Any]:
        from tradeloop.research.gold_preview import preview_dsl

        if dataset_id is None:
            raise HTTPException(422, "dataset_id: a preview runs on a dataset")
        dataset = _known(lambda: plane.runner_for().datasets.open(dataset_id))
        try:
            return preview_dsl(_dsl(spec), dataset, bins)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.post("/v1/gold/validate")
    def gold_validate(body: GoldRequest, _: str = Depends(require_token)) -> dict[str, Any]:
        from tradeloop.features.dsl.gold_dsl import validate_dsl

        try:
            order = validate_dsl(_dsl(body.spec))
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"valid": True, "order": [node.id for node in order]}

    @app.post("/v1/gold/preview")
    def gold_preview(body: GoldRequest, _: str = Depends(require_token)) -> dict[str, Any]:
        return _run_dsl(body.spec, body.dataset_id, body.bins)

    @app.post("/v1/gold/compare")
    def gold_compare(body: GoldCompareRequest, _: str = Depends(require_token)) -> dict[str, Any]:
        a = _run_dsl(body.a, body.dataset_id, body.bins)["outputs"]
        b = _run_dsl(body.b, body.dataset_id, body.bins)["outputs"]
        return {
            "only_a": sorted(set(a) - set(b)),
            "only_b": sorted(set(b) - set(a)),
            "both": {name: {"a": a[name], "b": b[name]} for name in sorted(set(a) & set(b))},
        }

    @app.get("/v1/gold/from_legacy")
    def gold_from_legacy(serving: str) -> dict[str, Any]:
        from tradeloop.features.dsl.gold_compat import gold_config_to_dsl

        config = _known(lambda: plane.runner_for().tree.serving(serving)).gold
        return gold_config_to_dsl(config, serving).model_dump(mode="json", exclude_none=True)


def _studio_routes(app: FastAPI, plane: ControlPlane, require_token: Any) -> None:
    """/v1/modeling/sessions: the Model Studio's wizard."""

    def _studio() -> Any:
        if plane.studio_for is None:
            raise HTTPException(503, "the Model Studio is not configured on this server")
        return _known(plane.studio_for)

    @app.post("/v1/modeling/sessions", status_code=201)
    def create_session(body: SessionRequest, actor: str = Depends(require_token)) -> dict[str, Any]:
        studio = _studio()
        _allow(plane, body.workspace_id, actor, "editor")
        made = _known(lambda: studio.create(uuid.uuid4().hex, body.name, actor, body.workspace_id))
        return made.public()  # type: ignore[no-any-return]

    @app.get("/v1/modeling/sessions")
    def sessions(limit: int = 100, workspace_id: str | None = None) -> dict[str, Any]:
        return {"sessions": [s.public() for s in _studio().store.recent(limit, workspace_id)]}

    @app.get("/v1/modeling/sessions/{session_id}")
    def session(session_id: str) -> dict[str, Any]:
        studio = _studio()
        return _known(lambda: studio.session(session_id)).public()  # type: ignore[no-any-return]

    def _refusal(call: Callable[[], Any]) -> Any:
        """A step refused (out of order, bad payload) is 409 / 422, never a 500."""
        try:
            return call()
        except ConfigError as exc:
            message = str(exc).splitlines()[0]
            raise HTTPException(409 if "committed first" in message else 422, message) from None
        except DataError as exc:
            raise HTTPException(422, str(exc).splitlines()[0]) from None

    @app.post("/v1/modeling/sessions/{session_id}/steps/{step}")
    def commit_step(
        session_id: str, step: str, body: dict[str, Any], actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        studio = _studio()
        found = _known(lambda: studio.session(session_id))
        _allow(plane, found.workspace_id, actor, "editor")
        return _refusal(lambda: studio.commit(session_id, step, body, actor)).public()  # type: ignore[no-any-return]

    @app.post("/v1/modeling/sessions/{session_id}/steps/{step}/preview")
    def preview_step(
        session_id: str, step: str, body: dict[str, Any], actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        studio = _studio()
        found = _known(lambda: studio.session(session_id))
        _allow(plane, found.workspace_id, actor, "viewer")
        return _refusal(lambda: studio.preview(session_id, step, body))  # type: ignore[no-any-return]

    @app.post("/v1/modeling/sessions/{session_id}/promote")
    def promote_session(
        session_id: str, body: dict[str, Any], actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        return commit_step(session_id, "promotion", body, actor)


def _workspace_routes(app: FastAPI, plane: ControlPlane, require_token: Any) -> None:
    """/v1/workspaces: create, list, show, members."""

    def _workspaces() -> Any:
        if plane.workspaces is None:
            raise HTTPException(503, "workspaces are not configured on this server")
        return plane.workspaces

    @app.get("/v1/workspaces")
    def workspaces() -> dict[str, Any]:
        return {"workspaces": [w.public() for w in _workspaces().all()]}

    @app.get("/v1/workspaces/{workspace_id}")
    def workspace(workspace_id: str) -> dict[str, Any]:
        return _workspace_call(lambda: _workspaces().get(workspace_id)).public()  # type: ignore[no-any-return]

    @app.post("/v1/workspaces", status_code=201)
    def create(body: WorkspaceRequest, actor: str = Depends(require_token)) -> dict[str, Any]:
        made = _workspace_call(lambda: _workspaces().create(body.workspace_id, body.title, actor))
        return made.public()  # type: ignore[no-any-return]

    def _members(call: Callable[[], Any]) -> dict[str, Any]:
        return _workspace_call(call).public()  # type: ignore[no-any-return]

    @app.put("/v1/workspaces/{workspace_id}/members/{member}")
    def set_member(
        workspace_id: str, member: str, body: MemberRequest, actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        return _members(lambda: _workspaces().set_member(workspace_id, member, body.role, actor))

    @app.delete("/v1/workspaces/{workspace_id}/members/{member}")
    def remove_member(
        workspace_id: str, member: str, actor: str = Depends(require_token)
    ) -> dict[str, Any]:
        return _members(lambda: _workspaces().remove_member(workspace_id, member, actor))


async def _event_stream(
    store: JobStore, job_id: str, after: int, request: Request
) -> AsyncIterator[str]:
    """The job's events as SSE, from ``after`` on, until it finishes or the client goes."""
    while not await request.is_disconnected():
        for event_id, kind, payload in await asyncio.to_thread(store.events, job_id, after):
            after = event_id
            yield f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(payload)}\n\n"
            if kind in FINISHED:
                return
        await asyncio.sleep(0.2)
