"""The PIM path as a user runs it, on the seeded synthetic market (offline): the curve is
trained, promoted, served by the scorer (POST /v1/inference/predict/{symbol}: 100 horizons,
the token rule, clear 404 / 422) and printed by the CLI; an agent is trained (checkpoints,
TensorBoard events, learning curve in its registry version), evaluated on a later period
next to its baselines, and traded by ``run --strategy pim_agent`` in backtest, paper and
simulate modes, each decision logged with the hash of its state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tradeloop.testing.waiting import wait_until

PINNED = "2026-06-03T18:00:05Z"
CLI = [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED]
TOKEN = "pim-e2e-token-0123456789abcdef0123"
SMALL = """
curve:
  anchors: [1, 5, 20, 100]
  folds: 2
  min_train_rows: 500
  n_estimators: 20
agent:
  episode_length: 20
  episodes: 4
"""


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment |= {"TRADELOOP_HOME": str(root / "var"), "TRADELOOP_API_TOKEN": TOKEN}
    command = [*CLI, *args, "--config", str(root / "small.yaml")]
    done = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True,
                          timeout=900, check=False)  # fmt: skip
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return done


def _json(root: Path, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(_run(root, *args, "--json").stdout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _scorer_answers(root: Path) -> None:
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment |= {"TRADELOOP_HOME": str(root / "var"), "TRADELOOP_API_TOKEN": TOKEN}
    server = subprocess.Popen([*CLI, "serve", "scorer", "--port", str(port), "--config",
                               str(root / "small.yaml")], cwd=root, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until(
            lambda: _listening(port), "the scorer listening", alive=lambda: server.poll() is None
        )
        base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.post(f"{base}/v1/inference/predict/AAPL", headers=auth, timeout=30)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["predictions_continuous"]) == len(body["uncertainty_continuous"]) == 100
        assert body["direction"] in ("LONG", "SHORT", "HOLD")
        assert 1 <= body["optimal_horizon"] <= 100
        assert httpx.post(f"{base}/v1/inference/predict/AAPL", timeout=30).status_code == 401
        missing = httpx.post(f"{base}/v1/inference/predict/NOPE", headers=auth, timeout=30)
        assert (missing.status_code, "tradeloop ingest" in missing.json()["error"]) == (404, True)
        bad = httpx.post(f"{base}/v1/inference/predict/a%20b", headers=auth, timeout=30)
        assert bad.status_code == 422
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_pim_path_when_run_offline_then_curve_agent_and_strategy_work(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(SMALL)
    _run(tmp_path, "ingest", "--offline", "--tickers", "AAPL,SPY,QQQ", "--start", "2016-01-01",
         "--end", "2024-12-31")  # fmt: skip
    curve = _json(tmp_path, "curve", "train", "--symbols", "AAPL", "--as-of", "2021-12-31")
    assert [s["horizon"] for s in curve["skill"]] == [1, 5, 20, 100]
    assert curve["parity_max_abs"] < 1e-5
    _run(tmp_path, "models", "promote", "candidate", "--name", "curve", "--to", "active")
    predicted = _json(tmp_path, "curve", "predict", "AAPL")
    assert predicted["as_of_session"] == "2024-12-31"
    _scorer_answers(tmp_path)

    trained = _json(tmp_path, "agent", "train", "--symbols", "AAPL", "--start", "2017-06-01",
                    "--end", "2021-12-31")  # fmt: skip
    assert trained["episodes"] == 4
    assert trained["steps"] >= 4 * 20  # 8 environments step together: a round is 160 steps
    run_dir = Path(trained["run_dir"])
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert (run_dir / "checkpoints" / "final.pt").exists()
    shown = json.loads(_run(tmp_path, "models", "show", trained["agent_id"], "--json").stdout)
    expected = {"policy.onnx", "checkpoint.pt", "learning_curve.png", "training_log.csv"}
    assert expected <= set(shown["files"])
    assert shown["seed"] == 7
    assert shown["train_start"][:10] == "2017-06-01"

    evaluated = _json(tmp_path, "agent", "evaluate", "candidate", "--start", "2023-01-02",
                      "--end", "2024-12-31")  # fmt: skip
    assert set(evaluated["policies"]) == {
        "agent",
        "buy_and_hold",
        "random",
        "sma_cross",
        "benchmark",
    }
    assert evaluated["overlaps_training"] == []
    assert Path(evaluated["equity_png"]).read_bytes()[:4] == b"\x89PNG"

    window = ("--tickers", "AAPL", "--start", "2024-01-02", "--end", "2024-06-28")
    _run(tmp_path, "run", "--strategy", "pim_agent", "--agent", "candidate", *window)
    log = tmp_path / "var" / "logs" / "pim_agent_decisions.jsonl"
    decisions = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(decisions) >= 100
    assert all(len(d["state_hash"]) == 16 for d in decisions if d["decision"] != "no_state")
    ordered = [d for d in decisions if d["order"]]
    assert all(d["state_hash"] in d["order"]["reason"] for d in ordered)
    for mode in ("paper", "simulate"):
        _run(tmp_path, "run", "--mode", mode, "--strategy", "pim_agent", "--agent", "candidate",
             "--account", f"pim-{mode}", "--run-once", *window)  # fmt: skip
    after = log.read_text().splitlines()
    assert len(after) > len(decisions)
