"""The canary's rollback as the services wire it, on a real database and registry: a
PARITY_FAIL reaching the risk service rolls the registry's active scalper model back to
the previous version, disables the routing with a cooldown, sends MODE_SWITCH once, and
the executor follows it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tradeloop.core.bus import Message
from tradeloop.usecases.stream_stage import CONTROL


def test_rollback_when_parity_fails_then_registry_routing_and_executor_follow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_HOME", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    for name in ("EXCHANGE_MODE", "EXCHANGE_VENUE", "TRADELOOP_CONFIG", "TRADELOOP_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    from tradeloop.bootstrap.scalper import (
        executor_stage,
        in_process_bus,
        risk_stage,
        scalper_app,
    )
    from tradeloop.bootstrap.scalper_release import set_routing

    app = scalper_app(None)
    registry = app.registry()
    versions = []
    for n in (1, 2):
        manifest = {"feature_schema_hash": "h", "target": "scalper_win",
                    "trained_end_ns": n * 10**18, "feature_version": "v"}  # fmt: skip
        version = registry.register("scalper", {"model.onnx": f"model {n}".encode()}, manifest)
        registry.promote("scalper", version.model_version_id, "active", actor="test")
        versions.append(version.model_version_id)
    set_routing(app, "canary", 0.1, "test canary", time.time_ns())
    risk = risk_stage(app)
    risk.handle(Message(CONTROL, {"type": "PARITY_FAIL", "gap": 0.3}, "p1"))
    [event] = risk.commit()
    assert (event.payload["type"], event.payload["to"]) == ("MODE_SWITCH", "disabled")
    assert registry.resolve("scalper", "active") == versions[0]
    assert risk.commit() == []  # once
    snapshot = json.loads((tmp_path / "var" / "run" / "exposure.json").read_text())
    routing = snapshot["rollout"]["routing"]
    assert routing["mode"] == "disabled"
    assert routing["cooldown_until"] is not None
    assert "ONNX parity" in routing["last_switch"]["reason"]
    executor = executor_stage(app, in_process_bus())
    executor.handle(event)
    assert executor.current().mode == "disabled"
    assert risk.supervisor is not None
    assert risk.supervisor.rollbacks == {"parity": 1}
    app.engine.dispose()
