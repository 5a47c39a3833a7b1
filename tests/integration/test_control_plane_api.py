"""The /v1 control plane through a real server: a job submitted with the token runs in
the worker, its progress arrives over SSE, its results are an artifact and in the results
store; a cancel before it starts, or between sweep points, stops it with nothing stored;
every route that changes something needs the token (checked over the app's routes);
bodies over 1 MB get 413; the serving routes list, diff and repoint."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from tradeloop.adapters.databento.mbo_file import DatabentoSource
from tradeloop.api.v1 import create_v1_app
from tradeloop.research import jobs as jobs_module
from tradeloop.research.config_tree import load_tree
from tradeloop.research.control_plane import ControlPlane
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.jobs import InProcessJobQueue, run_job, submit_job
from tradeloop.research.modeling_session import ModelingStudio
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.runner import ExperimentRunner
from tradeloop.research.serving_registry import ServingRegistry
from tradeloop.research.workspaces import Workspaces
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.job_store import SqlJobStore
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.modeling_sessions import SqlModelingSessions
from tradeloop.store.sql.serving_activations import SqlServingActivations
from tradeloop.store.sql.workspaces import SqlWorkspaces
from tradeloop.testing.asgi_server import serving
from tradeloop.usecases.research_datasets import generate_dataset

ROOT = Path(__file__).resolve().parents[2]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
TOKEN = "control-plane-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = 1_796_000_000_000_000_000


class Setup:
    def __init__(self, root: Path) -> None:
        shutil.copytree(ROOT / "research" / "configs", root / "research" / "configs")
        shutil.copytree(ROOT / "config" / "instruments", root / "config" / "instruments")
        pipeline = root / "research" / "configs" / "pipelines" / "es_evening.yaml"
        pipeline.write_text(
            pipeline.read_text().replace("2023-12-26T00:00:00Z", "2023-12-25T23:10:00Z")
        )
        self.tree = load_tree(root / "research" / "configs")
        self.datasets = DatasetStore(root / "datasets")
        self.dataset, _ = generate_dataset(
            self.tree, "es_evening", DatabentoSource(), self.datasets, lambda _: [DAY]
        )
        self.engine = open_engine(f"sqlite:///{root / 'db.sqlite'}")
        upgrade(self.engine)
        self.results = ResultsDB(root / "results")
        self.store = SqlJobStore(self.engine)
        self.queue = InProcessJobQueue()
        registry = lambda: ServingRegistry(self.tree_now(), SqlServingActivations(self.engine))  # noqa: E731
        self.root = root
        self.plane = ControlPlane(
            self.results, self.store, self.queue, self.runner, registry, lambda: NOW,
            lambda: ModelingStudio(
                SqlModelingSessions(self.engine), root / "research" / "configs", self.results,
                self.runner, registry, lambda tree, pipeline: self.dataset.id, lambda: NOW,
            ),
            Workspaces(SqlWorkspaces(self.engine), lambda: NOW),
        )  # fmt: skip

    def tree_now(self):  # type: ignore[no-untyped-def]
        return load_tree(self.root / "research" / "configs")

    def runner(self) -> ExperimentRunner:
        return ExperimentRunner(self.tree_now(), self.datasets, self.results, lambda: NOW)

    def start_worker(self) -> threading.Event:
        stop = threading.Event()
        handle = lambda job_id: run_job(job_id, self.store, self.runner, lambda _: self.dataset.id)  # noqa: E731
        threading.Thread(target=self.queue.work, args=(handle, stop, "t"), daemon=True).start()
        return stop


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def _sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_job_when_submitted_then_progress_over_sse_and_results_stored(setup: Setup) -> None:
    stop = setup.start_worker()
    app = create_v1_app(setup.plane, TOKEN)
    try:
        with serving(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            body = {"experiment": "es_composite_sweep", "dataset_id": setup.dataset.id}
            assert client.post("/v1/jobs/experiments", json=body).status_code == 401
            submitted = client.post("/v1/jobs/experiments", json=body, headers=AUTH)
            assert submitted.status_code == 202
            job_id = submitted.json()["job_id"]
            assert submitted.json()["points_total"] == 24
            with client.stream(
                "GET", f"/v1/jobs/experiments/{job_id}/events", timeout=60
            ) as stream:
                text = "".join(stream.iter_text())
            kinds = [kind for kind, _ in _sse(text)]
            assert kinds[0] == "queued"
            assert kinds[-1] == "done"
            assert "started" in kinds
            assert _sse(text)[-2][1] == {"done": 24, "total": 24}
            job = client.get(f"/v1/jobs/experiments/{job_id}").json()
            assert (job["state"], job["points_done"], job["artifacts"]) == (
                "done",
                24,
                ["results.json"],
            )
            results = client.get(f"/v1/jobs/experiments/{job_id}/artifacts/results.json").json()
            assert len(results["runs"]) == 24
            runs = client.get("/v1/experiments/runs").json()["runs"]
            assert len(runs) == 24
            busiest = max(runs, key=lambda r: r["trades"])
            detail = client.get(f"/v1/experiments/runs/{busiest['run_id'][:10]}").json()
            trades = detail["trades"]
            assert len(trades["pnl_ticks"]) == busiest["trades"] > 0
            assert trades["cumulative_pnl_ticks"][-1] == pytest.approx(busiest["total_pnl_ticks"])
            assert min(trades["drawdown_ticks"]) == pytest.approx(-busiest["max_drawdown_ticks"])
            assert client.get("/v1/experiments/runs/ffffffff").status_code == 404
            finished = client.post(f"/v1/jobs/experiments/{job_id}/cancel", headers=AUTH)
            assert finished.status_code == 409
            assert client.get("/v1/jobs/experiments/nope").status_code == 404
            unknown = client.post("/v1/jobs/experiments", json={"experiment": "nope"}, headers=AUTH)
            assert unknown.status_code == 404
            assert "no experiment named 'nope'" in unknown.json()["detail"]
            big = client.post("/v1/jobs/experiments", content=b"x" * (2 << 20), headers=AUTH)
            assert big.status_code == 413
    finally:
        stop.set()


def test_job_when_cancelled_before_start_or_between_points_then_nothing_stored(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = submit_job(setup.store, setup.queue, setup.runner, job_id="a" * 32,
                        experiment="es_composite_sweep", dataset_id=setup.dataset.id,
                        actor="t", now=NOW)  # fmt: skip
    setup.store.request_cancel(queued.job_id, NOW)
    run_job(queued.job_id, setup.store, setup.runner, lambda _: setup.dataset.id)
    assert setup.store.get(queued.job_id).state == "cancelled"  # type: ignore[union-attr]

    # a cancel arriving after the first point: honoured before the second
    monkeypatch.setattr(jobs_module, "PROGRESS_EVERY_S", 0.0)
    running = submit_job(setup.store, setup.queue, setup.runner, job_id="b" * 32,
                         experiment="es_composite_sweep", dataset_id=setup.dataset.id,
                         actor="t", now=NOW)  # fmt: skip
    add_event = setup.store.add_event

    def cancel_after_first_point(job_id: str, kind: str, payload: dict, now: int) -> None:
        add_event(job_id, kind, payload, now)
        if kind == "progress":
            setup.store.request_cancel(job_id, now)

    monkeypatch.setattr(setup.store, "add_event", cancel_after_first_point)
    run_job(running.job_id, setup.store, setup.runner, lambda _: setup.dataset.id)
    job = setup.store.get(running.job_id)
    assert job is not None
    assert (job.state, job.points_done) == ("cancelled", 1)
    assert setup.results.runs() == []
    assert setup.store.artifacts(running.job_id) == []


def test_routes_when_they_change_something_then_all_need_the_token(
    setup: Setup, tmp_path: Path
) -> None:
    from tradeloop.api.control import ControlApi, add_control_routes
    from tradeloop.api.v1 import token_guard
    from tradeloop.risk.kill_switch import KillSwitch
    from tradeloop.store.sql.audit import SqlAuditTrail

    app = create_v1_app(setup.plane, TOKEN)
    desk = ControlApi(home=tmp_path, audit=SqlAuditTrail(setup.engine),
                      kill_switch=KillSwitch(tmp_path / "KILL_SWITCH"),
                      halt_log=tmp_path / "halt.log")  # fmt: skip
    add_control_routes(app, desk, token_guard(TOKEN))
    mutating = [r for r in app.routes if isinstance(r, APIRoute) and r.methods - {"GET", "HEAD"}]
    assert {"/halt", "/resume", "/v1/jobs/experiments"} <= {r.path for r in mutating}
    for route in mutating:
        names = {d.call.__name__ for d in route.dependant.dependencies if d.call}
        assert "require_token" in names, route.path
    no_token = create_v1_app(setup.plane, None)
    with serving(no_token) as port:
        refused = httpx.post(
            f"http://127.0.0.1:{port}/v1/jobs/experiments", json={"experiment": "x"}, headers=AUTH
        )
    assert refused.status_code == 401
    assert "changes are disabled" in refused.json()["detail"]


def test_serving_routes_when_versions_exist_then_listed_diffed_and_repointed(setup: Setup) -> None:
    registry = ServingRegistry(setup.tree, SqlServingActivations(setup.engine))
    run = {"run_id": "r", "experiment": "es_composite_sweep", "serving": "es_composite",
           "dataset_id": setup.dataset.id, "trades": 1, "hit_rate": 1.0,
           "total_pnl_ticks": 1.0, "sharpe": 0.0}  # fmt: skip
    first, _ = registry.promote({**run, "params": {"signal.threshold": 0.1}},
                                setup.dataset.manifest, "es_live", "t", "x", NOW)  # fmt: skip
    second, _ = registry.promote({**run, "params": {"signal.threshold": 0.2}},
                                 setup.dataset.manifest, "es_live", "t", "x", NOW)  # fmt: skip
    app = create_v1_app(setup.plane, TOKEN)
    with serving(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        assert len(client.get("/v1/serving/versions").json()["versions"]) == 2
        assert client.get("/v1/serving/aliases").json() == {
            "aliases": {"es_live": second.serving_id}
        }
        diff = client.get(
            "/v1/serving/diff", params={"a": first.serving_id, "b": second.serving_id}
        )
        assert "spec.signal.params.threshold" in {d["path"] for d in diff.json()["differences"]}
        body = {"serving_id": first.serving_id, "reason": "rollback"}
        assert client.post("/v1/serving/aliases/es_live/activate", json=body).status_code == 401
        back = client.post("/v1/serving/aliases/es_live/activate", json=body, headers=AUTH)
        assert back.json() == {"alias": "es_live", "serving_id": first.serving_id,
                               "previous": second.serving_id}  # fmt: skip
        missing = client.post("/v1/serving/aliases/es_live/activate", headers=AUTH,
                              json={"serving_id": "f" * 16, "reason": "x"})  # fmt: skip
        assert missing.status_code == 404


def test_redis_queue_when_a_worker_dies_holding_a_job_then_another_runs_it(
    setup: Setup, redis_url: str
) -> None:
    import uuid

    from tradeloop.adapters.redis.job_queue import RedisJobQueue

    prefix = f"t{uuid.uuid4().hex[:8]}"
    first = RedisJobQueue(redis_url, prefix=prefix, claim_idle_ms=100)
    job = submit_job(setup.store, first, setup.runner, job_id="c" * 32,
                     experiment="es_composite_sweep", dataset_id=setup.dataset.id,
                     actor="t", now=NOW)  # fmt: skip

    class Died(Exception):
        pass

    def dies(job_id: str) -> None:
        raise Died(job_id)  # took the job, never acknowledged it

    stop = threading.Event()
    with pytest.raises(Died):
        first.work(dies, stop, "worker-a")
    assert setup.store.get(job.job_id).state == "queued"  # type: ignore[union-attr]
    second = RedisJobQueue(redis_url, prefix=prefix, claim_idle_ms=100)
    handled: list[str] = []

    def runs(job_id: str) -> None:
        run_job(job_id, setup.store, setup.runner, lambda _: setup.dataset.id)
        handled.append(job_id)
        stop.set()

    second.work(runs, stop, "worker-b")
    assert handled == [job.job_id]
    assert setup.store.get(job.job_id).state == "done"  # type: ignore[union-attr]
    assert len(setup.results.runs()) == 24


def test_gold_routes_when_a_spec_is_sent_then_validated_previewed_and_compared(
    setup: Setup,
) -> None:
    app = create_v1_app(setup.plane, TOKEN)
    with (
        serving(app) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=AUTH) as client,
    ):
        spec = client.get("/v1/gold/from_legacy", params={"serving": "es_composite"}).json()
        assert client.post("/v1/gold/validate", json={"spec": spec}).json()["valid"] is True
        preview = client.post(
            "/v1/gold/preview", json={"spec": spec, "dataset_id": setup.dataset.id, "bins": 100}
        )
        assert preview.json()["outputs"]["composite"]["bins"] == 100
        other = json.loads(json.dumps(spec).replace('"decay": 6.0', '"decay": 3.0'))
        compared = client.post(
            "/v1/gold/compare", json={"a": spec, "b": other, "dataset_id": setup.dataset.id}
        )
        both = compared.json()["both"]["pressure_variant"]
        assert both["a"]["mean"] != both["b"]["mean"]
        cyclic = json.loads(
            json.dumps(spec).replace('"input": "composite", "agg"', '"input": "d3", "agg"')
        )
        refused = client.post("/v1/gold/validate", json={"spec": cyclic})
        assert refused.status_code == 422
        assert "a cycle among nodes d1, d2, d3" in refused.json()["detail"]
        no_alpha = json.loads(json.dumps(spec).replace('"alpha": 0.3', '"alpha": null', 1))
        assert client.post("/v1/gold/validate", json={"spec": no_alpha}).status_code == 422


def test_studio_when_steps_committed_in_order_then_a_serving_is_promoted(setup: Setup) -> None:
    app = create_v1_app(setup.plane, TOKEN)
    base = "/v1/modeling/sessions"
    with serving(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=AUTH,
                                            timeout=120) as client:  # fmt: skip
        created = client.post(base, json={"name": "first"})
        assert created.status_code == 201
        sid = created.json()["session_id"]
        steps = f"{base}/{sid}/steps"
        early = client.post(f"{steps}/signal", json={"signal": {"name": "ema_cross"}})
        assert early.status_code == 409
        assert "step signal needs dataset committed first" in early.json()["detail"]
        assert client.post(f"{steps}/dataset", json={"pipeline": "es_evening"}).status_code == 200
        gold = {"gold": {"decay_ticks": 6, "spectrum_window": 120}}
        assert (
            client.post(f"{steps}/gold/preview", json=gold).json()["outputs"]["composite"]["bins"]
            > 0
        )
        assert client.post(f"{steps}/gold", json=gold).status_code == 200
        signal = {"signal": {"name": "composite_threshold", "params": {"threshold": 0.05}}}
        fired = client.post(f"{steps}/signal/preview", json=signal).json()
        assert fired["long"] + fired["short"] > 0
        client.post(f"{steps}/signal", json=signal)
        bad = client.post(f"{steps}/eval", json={"eval": {"tp_ticks": -1}})
        assert bad.status_code == 422
        evaluation = {
            "eval": {"tp_ticks": 8, "sl_ticks": 4, "max_hold_bins": 120, "cooldown_bins": 5}
        }
        assert "trades" in client.post(f"{steps}/eval/preview", json=evaluation).json()
        client.post(f"{steps}/eval", json=evaluation)
        sweep = {"sweep": {"mode": "grid", "params": {"signal.threshold": [0.02, 0.05, 0.1]}}}
        assert client.post(f"{steps}/experiment/preview", json=sweep).json() == {"points": 3}
        ran = client.post(f"{steps}/experiment", json=sweep).json()
        best = ran["steps"]["experiment"]["best_run_id"]
        assert ran["steps"]["experiment"]["runs"] == 3
        assert ran["next_step"] == "review"
        client.post(f"{steps}/review", json={"run_id": best[:8]})
        promoted = client.post(
            f"{base}/{sid}/promote", json={"alias": "studio_live", "reason": "t"}
        )
        assert promoted.status_code == 200
        body = promoted.json()
        assert body["state"] == "promoted"
        serving_id = body["steps"]["promotion"]["serving_id"]
        assert client.get("/v1/serving/aliases").json()["aliases"] == {"studio_live": serving_id}
        again = client.post(f"{steps}/gold", json=gold)
        assert again.status_code == 422
        assert "is promoted" in again.json()["detail"]

        # a second session: committing a step again clears the steps built on it
        sid2 = client.post(base, json={"name": "second"}).json()["session_id"]
        steps2 = f"{base}/{sid2}/steps"
        client.post(f"{steps2}/dataset", json={"pipeline": "es_evening"})
        client.post(f"{steps2}/gold", json=gold)
        client.post(f"{steps2}/signal", json=signal)
        redone = client.post(f"{steps2}/gold", json={"gold": {}}).json()
        assert sorted(redone["steps"]) == ["dataset", "gold"]
        assert redone["next_step"] == "signal"
        assert client.get(f"{base}/nope").status_code == 404


def test_workspaces_when_members_set_then_jobs_and_sessions_need_the_role(setup: Setup) -> None:
    app = create_v1_app(setup.plane, TOKEN)
    as_ = lambda who: {**AUTH, "X-Tradeloop-Actor": who}  # noqa: E731
    job = {"experiment": "es_composite_sweep", "dataset_id": setup.dataset.id}
    with serving(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        made = client.post("/v1/workspaces", json={"workspace_id": "es-team"}, headers=as_("alice"))
        assert made.status_code == 201
        assert made.json()["members"] == [{"member": "alice", "role": "owner"}]
        again = client.post("/v1/workspaces", json={"workspace_id": "es-team"}, headers=AUTH)
        assert again.status_code == 409
        put = lambda who, by, role: client.put(  # noqa: E731
            f"/v1/workspaces/es-team/members/{who}", json={"role": role}, headers=as_(by)
        )
        assert put("bob", "alice", "editor").status_code == 200
        assert put("carol", "alice", "viewer").status_code == 200
        assert put("dave", "bob", "viewer").status_code == 403
        assert put("dave", "alice", "admin").status_code == 422
        in_team = {**job, "workspace_id": "es-team"}
        refused = client.post("/v1/jobs/experiments", json=in_team, headers=as_("carol"))
        assert refused.status_code == 403
        assert "needs editor" in refused.json()["detail"]
        assert client.post("/v1/jobs/experiments", json=in_team, headers=AUTH).status_code == 403
        queued = client.post("/v1/jobs/experiments", json=in_team, headers=as_("bob"))
        assert queued.status_code == 202
        assert (queued.json()["workspace_id"], queued.json()["actor"]) == ("es-team", "bob")
        job_id = queued.json()["job_id"]
        cancel = f"/v1/jobs/experiments/{job_id}/cancel"
        assert client.post(cancel, headers=as_("carol")).status_code == 403
        assert client.post(cancel, headers=as_("bob")).json()["cancel_requested"] is True
        assert client.post("/v1/jobs/experiments", json=job, headers=AUTH).status_code == 202
        listed = client.get("/v1/jobs/experiments", params={"workspace_id": "es-team"}).json()
        assert [j["job_id"] for j in listed["jobs"]] == [job_id]
        assert len(client.get("/v1/jobs/experiments").json()["jobs"]) == 2
        unknown = client.post(
            "/v1/jobs/experiments", json={**job, "workspace_id": "nope"}, headers=AUTH
        )
        assert (unknown.status_code, unknown.json()["detail"][:23]) == (
            404,
            "no workspace 'nope'. Fi",
        )
        session = {"name": "s1", "workspace_id": "es-team"}
        assert (
            client.post("/v1/modeling/sessions", json=session, headers=as_("carol")).status_code
            == 403
        )
        made_session = client.post("/v1/modeling/sessions", json=session, headers=as_("bob"))
        assert made_session.json()["workspace_id"] == "es-team"
        bad_actor = client.post("/v1/workspaces", json={"workspace_id": "x"},
                                headers=as_("no spaces allowed"))  # fmt: skip
        assert bad_actor.status_code == 422
        assert (
            client.delete("/v1/workspaces/es-team/members/bob", headers=as_("bob")).status_code
            == 403
        )
        gone = client.delete("/v1/workspaces/es-team/members/bob", headers=as_("alice"))
        assert {m["member"] for m in gone.json()["members"]} == {"alice", "carol"}
        assert client.get("/v1/workspaces/nope").status_code == 404
        listed_ws = client.get("/v1/workspaces").json()["workspaces"]
        assert [w["workspace_id"] for w in listed_ws] == ["default", "es-team"]
