"""The model lifecycle as an operator runs it: train, evaluate, serve, reload, roll back."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.testing.waiting import wait_until

TOKEN = "e2e-token-not-secret"
# Every command runs on a wall clock pinned here (then ticking): the synthetic month of bars,
# the model's age and the daily report's window are the same whatever day the suite runs.
PINNED = "2026-06-03T18:00:05Z"
CLI = [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED]


def _run(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRADELOOP_", "LIVE_", "MODEL_GOV_"))
    }
    environment |= {"TRADELOOP_HOME": str(root / "var"), **env}
    return subprocess.run(
        [*CLI, *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _event(i: int) -> dict[str, object]:
    return {
        "event_id": f"load-{i}",
        "symbol": "SPY",
        "features": dict.fromkeys(EVENT_SCHEMA.names, 0.5),
    }


def test_readme_pivot_path_when_run_on_bundled_real_history_then_an_active_model(
    tmp_path: Path,
) -> None:
    """The README's offline first run on real data (EUR/USD hourly bars shipped with
    tradeloop) ends with an active model: every model beats its naive baseline."""
    collect = ("collect", "--source", "bundled", "--symbols", "EURUSD=X", "--interval", "1h")
    assert _run(tmp_path, *collect, "--range", "3600d", "--once").returncode == 0
    assert _run(tmp_path, "labels", "build").returncode == 0
    assert _run(tmp_path, "export").returncode == 0
    trained = _run(tmp_path, "train", "--json")
    assert trained.returncode == 0, trained.stderr
    evaluated = _run(tmp_path, "models", "evaluate", "--json")
    outcome = json.loads(evaluated.stdout)
    assert evaluated.returncode == 0, outcome["gate"]["reasons"]
    assert outcome["decision"] == "PROMOTED"
    assert outcome["next_steps"] == []
    shown = _run(tmp_path, "models", "show", "active", "--json")
    assert json.loads(shown.stdout)["model_version_id"] == json.loads(trained.stdout)["version"]


def test_lifecycle_when_operator_trains_promotes_and_serves_then_every_step_holds(
    tmp_path: Path,
) -> None:
    assert _run(tmp_path, "train").returncode == 2  # no lake yet: a clear error
    assert (
        _run(
            tmp_path,
            "collect",
            "--source",
            "synthetic",
            "--symbols",
            "SPY",
            "--range",
            "30d",
            "--once",
        ).returncode
        == 0
    )
    assert _run(tmp_path, "labels", "build").returncode == 0
    assert _run(tmp_path, "export").returncode == 0

    strict = tmp_path / "strict.yaml"
    strict.write_text("event_models:\n  min_rows: 100000\n")
    refused = _run(tmp_path, "train", "--config", str(strict), "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["published"] == []

    trained = _run(tmp_path, "train", "--json")
    assert trained.returncode == 0, trained.stderr
    result = json.loads(trained.stdout)
    assert len(result["published"]) == 12  # 4 targets x 3 horizons, one version
    version = result["version"]
    folder = tmp_path / "var" / "models" / version
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["feature_version"] == "pivot-events-1"
    assert set(manifest["files"]) == {*manifest["models"], "MODEL_CARD.md"}
    assert {m["algorithm"] for m in manifest["models"].values()} <= {"lightgbm", "random_forest"}
    held = [m for m in manifest["models"].values() if m["target"] == "held"]
    assert all(0 < m["thresholds"]["tau_hold"] <= m["thresholds"]["tau_entry"] < 1 for m in held)
    assert all(
        {"precision_at_entry", "pr_auc", "brier", "ece", "avg_mfe_bps", "avg_mae_bps"}
        <= set(m["metrics"])
        for m in held
    )
    assert all(m["parity_max_abs"] <= m["parity_tolerance"] for m in manifest["models"].values())
    assert "# Model card: pivot-events" in (folder / "MODEL_CARD.md").read_text()

    # Gates are enforced by the registry: a required horizon the run lacks refuses promotion.
    gated = _run(tmp_path, "models", "evaluate", "--json", MODEL_GOV_REQUIRED_HORIZONS="5,240")
    assert gated.returncode == 1, gated.stderr
    assert json.loads(gated.stdout)["gate"]["checks"]["required_horizons"] is False
    promoted = _run(
        tmp_path, "models", "evaluate", "--json", MODEL_GOV_MAX_MFE_REGRESSION_BPS="1000"
    )
    # A random walk holds no edge: the gate refuses the model for not beating the baseline.
    assert promoted.returncode == 1, promoted.stderr
    gate = json.loads(promoted.stdout)["gate"]
    assert gate["checks"]["beats_baseline"] is False
    steps = json.loads(promoted.stdout)["next_steps"]
    assert [s.split(":")[0] for s in steps] == ["beats_baseline"]  # and what to do about it
    assert gate["checks"]["onnx_parity"] is True
    promoted = _run(  # forced, with the reason audited
        tmp_path,
        "models",
        "promote",
        version,
        "--to",
        "active",
        "--force",
        "--reason",
        "e2e: synthetic data",
        "--json",
    )
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    listed = json.loads(_run(tmp_path, "models", "list", "--json").stdout)
    (family,) = [m for m in listed["models"] if m["name"] == "pivot-events"]
    assert family["aliases"]["active"] == version
    shown = json.loads(_run(tmp_path, "models", "show", "active", "--json").stdout)
    assert shown["model_version_id"] == version
    assert shown["promotions"]

    # The promoted model trades: ml_signal through the one order path, backtest and paper.
    ml = ("run", "--strategy", "ml_signal", "--tickers", "SPY", "--interval", "1m", "--json")
    backtest = _run(tmp_path, *ml)
    assert backtest.returncode == 0, backtest.stderr
    ran = json.loads(backtest.stdout)
    assert version in ran["title"]
    assert ran["in_sample_bars"] > 0  # trained on these bars: the report says so
    paper = _run(tmp_path, *ml, "--mode", "paper", "--run-once")
    assert paper.returncode == 0, paper.stderr

    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment |= {"TRADELOOP_HOME": str(tmp_path / "var"), "TRADELOOP_API_TOKEN": TOKEN}
    server = subprocess.Popen(
        [*CLI, "serve", "scorer", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=10)
    try:
        for _ in range(200):
            try:
                health = client.get("/health").json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health["models"]["active"] == version
        assert health["status"] == "ok"  # trained on bars up to the pinned instant: fresh
        # A page on another name that resolves to 127.0.0.1 (DNS rebinding) is not served.
        assert client.get("/health", headers={"Host": "rebind.example"}).status_code == 421

        statuses: list[int] = []
        stop = threading.Event()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        # With a token configured, scoring needs it too: scores feed the daily report.
        assert client.post("/score", json={"events": [_event(0)]}).status_code == 401

        def load() -> None:
            with httpx.Client(base_url=base, timeout=10, headers=auth) as loader:
                i = 0
                while not stop.is_set():
                    statuses.append(loader.post("/score", json={"events": [_event(i)]}).status_code)
                    i += 1

        worker = threading.Thread(target=load)
        worker.start()
        assert client.post("/reload").status_code == 401
        assert client.post("/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
        for _ in range(5):
            assert client.post("/reload", headers=auth).status_code == 200
        # A retrain cycle with the scorer up: new candidate, promoted (forced: synthetic data
        # need not beat the old model), and the live scorer reloaded by the cycle itself.
        cycle = _run(
            tmp_path,
            "retrain",
            "--source",
            "synthetic",
            "--symbols",
            "SPY",
            "--scorer-url",
            base,
            "--json",
            TRADELOOP_API_TOKEN=TOKEN,
            MODEL_GOV_FORCE_PROMOTE="true",
        )
        assert cycle.returncode == 0, cycle.stderr
        steps = {s["name"]: s["status"] for s in json.loads(cycle.stdout)["steps"]}
        assert steps == {
            "ingest": "ok",
            "labels": "ok",
            "export": "ok",
            "train": "ok",
            "evaluate": "ok",
            "reload": "ok",
        }
        version = client.get("/health").json()["models"]["active"]
        assert version != result["version"]
        assert (tmp_path / "var" / "reports" / "retrain_latest.md").exists()
        # Operations on the real model: a backup restores with the model scoring its probe,
        # and the daily report judges this version.
        assert _run(tmp_path, "backup", "--json").returncode == 0
        drill = _run(tmp_path, "restore-drill", "--json")
        assert drill.returncode == 0, drill.stdout
        checks = json.loads(drill.stdout)["checks"]
        assert any(c.startswith(f"active model {version} loaded") for c in checks), checks
        daily = _run(tmp_path, "report", "daily", "--json")
        assert daily.returncode == 0, daily.stderr
        judged = json.loads(daily.stdout)
        assert judged["model_version_id"] == version
        # No live prediction has matured yet on the pinned day: degrading, and it says why.
        assert judged["state"] == "degrading"
        assert "held@5: 0 matured predictions < min_samples 30" in judged["reasons"]
        assert {h["target"] for h in judged["window"]} <= {"held", "broke"}
        assert judged["window"]
        folder = tmp_path / "var" / "models" / version
        model = next(folder.glob("*.onnx"))
        os.chmod(model, 0o644)
        model.write_bytes(b"truncated")
        refused_reload = client.post("/reload", headers=auth)
        assert refused_reload.status_code == 409
        assert "checksum" in refused_reload.json()["error"]
        served = len(statuses)  # the load goes on against the model still loaded
        wait_until(lambda: len(statuses) >= served + 20, "20 more scored requests")
        stop.set()
        worker.join()
        assert len(statuses) > 50
        assert set(statuses) == {200}  # zero failed requests while reloading
        answer = client.post("/score", json={"events": [_event(0)]}, headers=auth).json()
        assert answer["model_version_id"] == version  # still serving what it had
        assert client.get("/health").json()["status"] == "degrading"
        bad = client.post(
            "/score", json={"events": [{"event_id": "x", "features": {}}]}, headers=auth
        )
        assert bad.status_code == 422
        assert "missing" in bad.json()["error"]
        assert "scores_total" in client.get("/metrics").text
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode in (0, -signal.SIGTERM), err[-2000:]  # graceful stop
    assert TOKEN not in err
    with sqlite3.connect(tmp_path / "var" / "tradeloop.db") as db:
        logged = db.execute("SELECT count(DISTINCT event_id) FROM prediction_log").fetchone()[0]
        sources = {s for (s,) in db.execute("SELECT DISTINCT source FROM prediction_log")}
    assert logged >= 50
    assert sources == {"scorer 127.0.0.1"}  # every score says who asked for it
