"""The supervised stack: crashed components restart with back-off and are counted; the
control API answers and controls; SIGTERM stops everything; status tells the truth."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tradeloop.ops.supervisor import Component, Supervisor, alive, read_stack

PY = sys.executable


def _wait(condition, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_supervisor_restarts_a_crashing_component_with_doubling_backoff(tmp_path: Path) -> None:
    crash = Component("crasher", (PY, "-c", "import sys; sys.exit(3)"))
    steady = Component("steady", (PY, "-c", "import time; time.sleep(600)"))
    said: list[str] = []
    supervisor = Supervisor(
        [crash, steady], tmp_path, backoff_s=0.2, max_backoff_s=0.8, grace_s=5, echo=said.append
    )
    started = time.monotonic()
    supervisor.run(lambda: time.monotonic() - started > 4.0, poll_s=0.05)
    state = read_stack(tmp_path / "run" / "stack.json")
    assert state is not None
    assert state["status"] == "stopped"
    crashed, calm = state["components"]["crasher"], state["components"]["steady"]
    assert crashed["last_exit"] == 3
    # back-off 0.2, 0.4, 0.8, 0.8, ... within 4 s: a handful of restarts, not hundreds
    assert 3 <= crashed["restarts"] <= 8, crashed
    assert calm["restarts"] == 0
    assert calm["last_exit"] == -signal.SIGTERM  # stopped by us, cleanly
    waits = [float(line.rsplit(" in ", 1)[1].rstrip(" s")) for line in said if "restart #" in line]
    assert waits[:3] == [0.2, 0.4, 0.8]
    assert max(waits) == 0.8
    assert (tmp_path / "logs" / "crasher.log").exists()


def test_supervisor_kills_a_component_that_ignores_sigterm(tmp_path: Path) -> None:
    ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    stubborn = Component("stubborn", (PY, "-c", ignore))
    supervisor = Supervisor([stubborn], tmp_path, grace_s=1.0)
    supervisor.tick()
    time.sleep(0.5)
    began = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - began < 5
    assert supervisor.children[0].last_exit == -signal.SIGKILL


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_up_when_a_component_is_killed_then_restarted_and_sigterm_stops_all(
    tmp_path: Path,
) -> None:
    port = _free_port()
    (tmp_path / "tradeloop.yaml").write_text(
        f"api:\n  port: {port}\nscheduler:\n  retrain_every_hours: 0\n  report_times: []\n"
        "health:\n  check_services: false\n"
    )
    home = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    env.update({"TRADELOOP_HOME": str(home), "TRADELOOP_API_TOKEN": "tok-for-tests-123"})

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PY, "-m", "tradeloop.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    stack = subprocess.Popen(
        [PY, "-m", "tradeloop.cli", "up", "--only", "api,scheduler"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert _wait(answers), "control API never answered"
        status = cli("status", "--json")
        assert status.returncode == 0, status.stdout
        components = json.loads(status.stdout)["components"]
        assert set(components) == {"api", "scheduler"}
        # control: refused without the token, obeyed with it
        assert httpx.post(f"{base}/halt", json={"reason": "x"}).status_code == 401
        halted = httpx.post(
            f"{base}/halt",
            json={"reason": "feed gap"},
            headers={"Authorization": "Bearer tok-for-tests-123"},
        )
        assert halted.status_code == 200
        assert (home / "KILL_SWITCH").exists()
        assert "tradeloop_kill_switch 1" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/health").json()["kill_switch"].endswith("feed gap")
        rebound = httpx.get(f"{base}/health", headers={"Host": "rebind.example"})
        assert rebound.status_code == 421  # the control API's DNS-rebinding guard
        # a crash: kill -9 the api; the supervisor brings it back and counts it
        os.kill(components["api"]["pid"], signal.SIGKILL)
        assert _wait(
            lambda: (
                (read_stack(home / "run" / "stack.json") or {})
                .get("components", {})
                .get("api", {})
                .get("restarts")
                == 1
            )
        )
        assert _wait(answers)
        health = cli("health", "--json")
        restarts = {c["name"]: c for c in json.loads(health.stdout)["checks"]}["restarts"]
        assert "api +1" in restarts["detail"]
    finally:
        stack.send_signal(signal.SIGTERM)
        output, _ = stack.communicate(timeout=60)
    assert stack.returncode == 0, output
    final = read_stack(home / "run" / "stack.json")
    assert final is not None
    assert final["status"] == "stopped"
    assert not any(alive(c["pid"]) for c in final["components"].values())
    assert cli("status").returncode == 1  # down
    assert not answers()
