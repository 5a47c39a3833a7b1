"""The release's validations wired to this installation, and the canary pipeline
simulation: the scalper's own stages (signal engine, the candidate model, the risk screen,
the executor on the paper simulator) over seeded synthetic days of three kinds (normal,
an event day of 6x volatility, a high-volatility day of 3x), in one process."""

from __future__ import annotations

import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.core.bus import InProcessBus
from tradeloop.core.errors import DataError
from tradeloop.rollout.mode_gates import Criterion

DAY_TYPES = {"normal": 1.0, "event": 6.0, "high_vol": 3.0}
SIM_START_NS = 1_767_600_000 * 10**9  # a fixed day: the simulation never depends on today


def validations(app: App, model_id: str) -> list[Criterion]:
    """The release checklist: feature schema, metrics against the benchmark, ONNX parity,
    and the canary pipeline across day types."""
    from tradeloop.models.candidate_classifier import FEATURE_SCHEMA_HASH, onnx_schema_hash
    from tradeloop.serving.candidate_model import OnnxCandidateModel, parity_gap

    name, registry = app.config.scalper.ai_scorer.registry_name, app.registry()
    version = registry.find(model_id, name)
    files, manifest = registry.load(version.model_version_id)
    onnx = files.get("model.onnx", b"")
    declared, embedded = (
        manifest.get("feature_schema_hash"),
        onnx_schema_hash(onnx) if onnx else None,
    )
    out = [
        Criterion(
            "feature schema hash (data = manifest = ONNX)",
            f"{FEATURE_SCHEMA_HASH} / {declared} / {embedded}",
            "all equal",
            FEATURE_SCHEMA_HASH == declared == embedded,
        )
    ]
    out += _benchmark(app, manifest, model_id)
    gate = registry.check(name, version.model_version_id)
    out.append(
        Criterion(
            "registry promotion gates",
            "; ".join(gate.reasons) or "all pass",
            "the gates of `models promote --to active`",
            gate.passed,
        )
    )
    model = OnnxCandidateModel.from_bytes(onnx, f"registry {name} {model_id}", model_id)
    parity = manifest.get("parity") or {}
    gap = parity_gap(model, parity.get("features", []), parity.get("probabilities", []))
    tolerance = app.config.release.parity_tolerance
    out.append(
        Criterion(
            "ONNX parity (recorded rows)", f"{gap:.2e}", f"<= {tolerance:g}", gap <= tolerance
        )
    )
    out += _simulation(app, model, manifest)
    return out


def _simulation(app: App, model: Any, manifest: dict[str, Any]) -> list[Criterion]:
    """The canary pipeline on each day type against the release's execution gates."""
    out: list[Criterion] = []
    tau = float(
        manifest.get("thresholds", {}).get("tau_entry", app.config.scalper.ai_scorer.tau_entry)
    )
    release = app.config.release
    for day, factor in DAY_TYPES.items():
        sim = simulate_day(app, model, tau, factor, release.simulation_steps)
        out += [
            Criterion(
                f"{day} day: win rate",
                f"{_pct(sim['win_rate'])} of {sim['trades']} trades",
                f">= {release.min_win_rate:.0%}",
                sim["win_rate"] is not None and sim["win_rate"] >= release.min_win_rate,
            ),
            Criterion(
                f"{day} day: avg markout 1 s",
                _bps(sim["markout_bps"]),
                f">= {release.min_avg_markout_bps:g} bps",
                sim["markout_bps"] is not None
                and sim["markout_bps"] >= release.min_avg_markout_bps,
            ),
            Criterion(
                f"{day} day: fill rate",
                _pct(sim["fill_rate"]),
                f">= {release.min_fill_rate:.0%}",
                sim["fill_rate"] is not None and sim["fill_rate"] >= release.min_fill_rate,
            ),
        ]
    return out


def _pct(value: float | None) -> str:
    return "none" if value is None else f"{value:.1%}"


def _bps(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f} bps"


def _benchmark(app: App, manifest: dict[str, Any], model_id: str) -> list[Criterion]:
    """PR-AUC and precision at least the active version's (none active: the base rate)."""
    name, registry = app.config.scalper.ai_scorer.registry_name, app.registry()
    active = registry.resolve(name, "active")
    metrics = manifest.get("metrics") or {}
    if active is not None and active != model_id:
        bench, source = registry.version(active).manifest.get("metrics") or {}, f"active {active}"
    else:
        rate = float(
            metrics.get("base_rate", (manifest.get("baseline") or {}).get("precision", 1.0))
        )
        bench, source = {"pr_auc": rate, "precision": rate}, "the base rate (no active model)"
    out = []
    for key in ("pr_auc", "precision"):
        value, target = metrics.get(key), bench.get(key)
        ok = value is not None and target is not None and float(value) >= float(target)
        shown = "missing" if value is None else f"{float(value):.4f}"
        out.append(
            Criterion(
                f"{key} vs {source}",
                shown,
                f">= {'?' if target is None else format(float(target), '.4f')}",
                ok,
            )
        )
    return out


def simulate_day(app: App, model: Any, tau: float, vol_factor: float, steps: int) -> dict[str, Any]:
    """Signal -> score -> risk -> executor on the paper simulator over one synthetic day."""
    from tradeloop.adapters.synthetic.ticks import SyntheticTape, TickParams
    from tradeloop.risk.gate import RiskGate
    from tradeloop.risk.kill_switch import KillSwitch
    from tradeloop.usecases.scalper_collector import Pacing
    from tradeloop.usecases.scalper_pipeline import run_in_process
    from tradeloop.usecases.scalper_risk import RiskStage, RoundTripLedger
    from tradeloop.usecases.scalper_scorer import CandidateScorer
    from tradeloop.usecases.scalper_signal import SignalEngine
    from tradeloop.usecases.stream_stage import MARKET, Decisions, MemoryDecisionLog, StageRunner

    config, clock = app.config.scalper, (lambda: SIM_START_NS)
    synth = config.synthetic
    params = TickParams(synth.seed + int(vol_factor * 10), SIM_START_NS, synth.interval_ms,
                        synth.start_price, synth.tick_size, synth.levels,
                        synth.volatility_bps * vol_factor)  # fmt: skip
    tape = SyntheticTape.starting(params, (config.symbols[0],), MARKET)
    bus, log = InProcessBus(), MemoryDecisionLog()
    balance = Decimal(repr(config.executor.free_balance_usd))
    with tempfile.TemporaryDirectory() as scratch:
        kill = KillSwitch(Path(scratch) / "KILL_SWITCH")  # the simulation's own, never the desk's
        executor = _sim_executor(
            app, RiskGate(app.config.risk, kill), Decisions(log, "executor", clock)
        )
        risk = RiskStage(RiskGate(app.config.risk, kill), Decisions(log, "risk", clock),
                         RoundTripLedger(balance), Decisions(log, "risk-fills", clock))  # fmt: skip
        stages: list[Any] = [
            SignalEngine(config.signal),
            CandidateScorer(model, tau),
            risk,
            executor,
        ]
        runners = [StageRunner(bus, s, "sim", batch=10_000) for s in stages]
        run_in_process(bus, tape, _NoCursor(), runners, should_stop=lambda: False,
                       pacing=Pacing(steps_per_s=None, max_messages=steps))  # fmt: skip
    tracker = executor.tracker
    assert tracker is not None
    return {"win_rate": tracker.winrate, "trades": len(tracker.closed),
            "markout_bps": tracker.markout(1000), "fill_rate": tracker.fill_rate,
            "orders": executor.sent}  # fmt: skip


def _sim_executor(app: App, gate: Any, decisions: Any) -> Any:
    """The executor on a fresh paper simulator, tracking every trade of the run."""
    from tradeloop.execution.journal import InMemoryOrderJournal
    from tradeloop.execution.order_manager import OrderManager
    from tradeloop.execution.tick_paper_venue import TickPaperVenue
    from tradeloop.monitor.trading_metrics import TradingTracker
    from tradeloop.usecases.scalper_executor import ExecutorStage
    from tradeloop.usecases.scalper_exits import ExitBook

    config = app.config.scalper
    venue = TickPaperVenue(Decimal(repr(config.executor.free_balance_usd)))
    orders = OrderManager(InMemoryOrderJournal(), venue, lambda: SIM_START_NS)
    executor = ExecutorStage(config.executor, config.instruments, orders, gate, venue, decisions,
                             backlog=lambda: 0, route="sim", tape=venue)  # fmt: skip
    executor.tracker = TradingTracker("sim", window=1_000_000, clock=lambda: executor.now_s)
    ticks = {s: i.tick_size for s, i in config.instruments.items()}
    executor.exits = ExitBook(config.executor.exits, orders, ticks, executor.exit_check,
                              entry_ttl_ms=config.executor.exits.entry_ttl_ms,
                              on_closed=executor.tracker.on_closed)  # fmt: skip
    return executor


class _NoCursor:
    def load(self) -> dict[str, Any] | None:
        return None

    def save(self, cursor: dict[str, Any]) -> None:
        return None


def release_ports(app: App, echo: Any, poll_s: float) -> Any:
    from tradeloop.bootstrap.rollout import actor
    from tradeloop.bootstrap.scalper import routing_store
    from tradeloop.usecases.release import ReleasePorts

    return ReleasePorts(
        routing_store(app),
        app.config.rollout,
        app.registry(),
        lambda model_id: validations(app, model_id),
        actor(app, "release").notify,
        echo,
        clock=time.time_ns,
        sleep=time.sleep,
    )


__all__ = ["DataError", "release_ports", "simulate_day", "validations"]


def rollout_view(app: App, now_ns: int) -> dict[str, Any]:
    """The routing document and every release, for `rollout status`, `tradeloop status`
    and the desk."""
    from tradeloop.bootstrap.scalper import routing_store
    from tradeloop.core.time import iso_from_ns
    from tradeloop.store.sql.rollout_records import release_states
    from tradeloop.usecases.canary_supervisor import load_routing

    routing = load_routing(routing_store(app), app.config.rollout)[1]

    def when(ns: int) -> str | None:
        return iso_from_ns(ns) if ns > now_ns else None

    releases = [
        {
            "model_id": s.get("model_id"),
            "stage": s.get("stage"),
            "outcome": s.get("outcome"),
            "stage_started": iso_from_ns(int(s.get("stage_started_ns", 0))),
        }
        for s in release_states(app.engine)
    ]
    return {
        "routing": {
            "mode": routing.mode,
            "canary_fraction": routing.canary_fraction,
            "venue_share": routing.venue_share(now_ns),
            "cooldown_until": when(routing.cooldown_until_ns),
            "fail_safe_until": when(routing.fail_safe_until_ns),
            "frozen_until": when(routing.frozen_until_ns),
            "last_switch": routing.last_switch,
        },
        "releases": releases,
    }


def set_routing(app: App, mode: str, fraction: float | None, reason: str, now_ns: int) -> Any:
    from tradeloop.bootstrap.scalper import routing_store
    from tradeloop.core.errors import ConfigError
    from tradeloop.rollout.routing import Routing
    from tradeloop.usecases.canary_supervisor import update_routing

    if mode not in ("disabled", "canary", "full"):
        raise ConfigError(f"--mode {mode!r}: use disabled, canary or full")
    if fraction is not None and not 0 <= fraction <= 1:
        raise ConfigError(f"--fraction {fraction}: a share between 0 and 1")

    def change(current: Routing) -> Routing:
        if mode == "canary" and now_ns < current.cooldown_until_ns:
            left = (current.cooldown_until_ns - now_ns) / 60e9
            raise ConfigError(
                f"a rollback's cooldown holds for {left:.1f} more minutes "
                f"({current.last_switch.get('reason', '')}); no new canary before"
            )
        share = current.canary_fraction if fraction is None else fraction
        return current.switched(mode, now_ns, reason, canary_fraction=share)  # type: ignore[arg-type]

    return update_routing(routing_store(app), app.config.rollout, change, now_ns)
