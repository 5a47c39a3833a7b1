"""The shipped alert rules and dashboard: valid for promtool, each alert proven by
promtool's rule tests, and every metric they query is one tradeloop really exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).parents[3]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
PROMQL_WORDS = {
    "abs",
    "rate",
    "increase",
    "sum",
    "by",
    "max_over_time",
    "quantile_over_time",
    "time",
    "or",
    "and",
    "offset",
    "up",
    "min",
    "max",
    "avg",
    "without",
    "on",
    "ignoring",
}


def _promtool() -> str:
    found = os.environ.get("TRADELOOP_PROMTOOL")
    if found and Path(found).exists():
        return found
    local = ROOT / ".tools" / "promtool"
    if local.exists():
        return str(local)
    on_path = shutil.which("promtool")
    if on_path:
        return on_path
    if os.environ.get("TRADELOOP_REQUIRE_SERVICES") == "1":
        pytest.fail("promtool is missing but required (make test fetches it into .tools/)")
    pytest.skip("promtool not installed: run `make .tools/promtool`")


def test_rules_pass_promtool_check_and_their_unit_tests() -> None:
    promtool = _promtool()
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_rules_cover_the_runbooks_catalogue() -> None:
    names = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert {
        "WinRateDrop",
        "DriftDetected",
        "CalibrationOutOfSpec",
        "OnnxParityFailure",
        "ThroughputSpike",
        "ExecutionDegradation",
    } <= names
    tested = (RULES.parent / "alerts_test.yml").read_text()
    untested = {n for n in names if f"alertname: {n}\n" not in tested}
    # ServiceDown is `up == 0` (Prometheus' own series); the others each fire in a test
    assert untested <= {
        "ServiceDown",
        "ThroughputSpike",
        "StreakHalt",
        "DaemonSafeMode",
        "IngestRejectionRate",
        "CollectorFailing",
        "BackupStale",
    }


def _names(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\boffset\s+\d+[smhdw]", "", expr)
    tokens = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {t for t in tokens if t not in PROMQL_WORDS and not re.fullmatch(r"\d+[smhdw]?", t)}


def _exported(tmp_path: Path) -> set[str]:
    """Sample names from running each exporter, plus the services' declared metrics."""
    from tradeloop.domain.enums import Side
    from tradeloop.domain.orders import OrderFilled, SubmitOrder
    from tradeloop.monitor.backup_metrics import write_backup_metrics
    from tradeloop.monitor.drift import FeatureDrift
    from tradeloop.monitor.ml_health import HorizonHealth
    from tradeloop.monitor.ml_metrics import write_ml_metrics
    from tradeloop.monitor.risk_metrics import write_risk_metrics
    from tradeloop.monitor.trading_metrics import TradingTracker
    from tradeloop.risk.gate import RiskGate
    from tradeloop.risk.kill_switch import KillSwitch
    from tradeloop.testing.orders import UNLIMITED_RISK

    gate = RiskGate(UNLIMITED_RISK, KillSwitch(tmp_path / "KS"))
    gate.counts["X"] += 1
    write_risk_metrics(gate, "a", tmp_path / "risk.prom")
    now = [0.0]
    tracker = TradingTracker("paper", clock=lambda: now[0])
    tracker.on_sent(SubmitOrder("o", "S", Side.BUY, Decimal(1), ts_init=0), Decimal(0))
    tracker.on_fill(OrderFilled("o", "S", Side.BUY, Decimal(1), Decimal(10), Decimal(0), 0))
    tracker.on_closed(Decimal(1))
    tracker.switch("ACTIVE", "HALTED")
    now[0] = 2.0
    tracker.on_tick({"S": Decimal(11)}, "ACTIVE")
    tracker.write(tmp_path / "daemon.prom", "a", {"backpressure_total": {"halt": 1}})
    horizon = HorizonHealth("held", 5, 40, 10, 0.5, 0.6, 0.6, 0.2, 0.05, 0.01)
    write_ml_metrics(
        tmp_path / "ml.prom",
        state="healthy",
        window=[horizon],
        drift=[FeatureDrift("f", 0.1, 0.1, 50, 50)],
        model_age_hours=3.0,
        rollbacks=0,
    )
    write_backup_metrics(
        tmp_path / "backup.prom", last_backup_ns=1, backup_bytes=1, drill_ok=True, drill_ns=1
    )
    from tradeloop.monitor.scalper_metrics import write_service_metrics

    rollout = {
        "executor_canary_fraction_realized": 0.1, "rollout_canary_fraction": 0.1,
        "winrate_canary": 0.5, "winrate_baseline_active": 0.5, "sample_canary": 10,
        "psi_feature": {"f": 0.1}, "ks_feature": {"f": 0.1}, "fail_safe_trigger_total": {"crit": 1},
        "rollback_total": {"psi": 1}, "mode_switch_total": {"canary->disabled": 1},
        "onnx_parity_fail": 0, "shadow_signals_evaluated": 1, "shadow_signals_approved": 1,
    }  # fmt: skip
    write_service_metrics(tmp_path / "scalper.prom", "executor", {"rollout": rollout}, [tracker])
    names: set[str] = set()
    for path in tmp_path.glob("*.prom"):
        for family in text_string_to_metric_families(path.read_text()):
            names |= {s.name for s in family.samples}
    # the long-running services declare theirs in code; read the names from it
    sources = [
        "serving/service.py",
        "usecases/collector.py",
        "monitor/ingest_metrics.py",
        "api/control.py",
    ]
    for source in sources:
        text = (ROOT / "src" / "tradeloop" / source).read_text()
        for kind, name in re.findall(r"(Counter|Gauge|Histogram)\(\s*\"([a-z_]+)\"", text):
            base = name.removesuffix("_total")
            if kind == "Counter":
                names |= {base + "_total"}
            elif kind == "Histogram":
                names |= {base + "_bucket", base + "_count", base + "_sum"}
            else:
                names.add(name)
        names |= set(re.findall(r"\b(tradeloop_[a-z_]+)(?:\{|\s)", text))
    return names


def test_every_metric_in_rules_and_dashboard_is_exported(tmp_path: Path) -> None:
    exported = _exported(tmp_path)
    rules = [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for expr in rules + panels:
        unknown = _names(expr) - exported
        assert not unknown, f"{expr!r} queries {sorted(unknown)}, which tradeloop never exports"


def test_dashboard_has_the_runbooks_panels() -> None:
    titles = {p["title"] for p in json.loads(DASHBOARD.read_text())["panels"]}
    assert {
        "Win Rate by Route",
        "Markout & Fill Rate",
        "Score Distribution (Online)",
        "Calibration",
        "Drift PSI / KS",
        "Rollouts & Mode Switches",
        "Data Health",
        "Ingestion Audit",
    } <= titles
