"""Wiring of the scalper's stream services: the bus, each stage and what it stores.

Services (``python -m tradeloop.services.<name>``) meet on Redis Streams
(``TRADELOOP_REDIS_URL``); ``tradeloop scalper run`` runs every stage in one process on the
in-process bus. Either way the stages are the same objects, built here.

Runtime files live in ``var/run/scalper/``: the collector's cursor, the paper venue, the
risk state of the risk service and of the executor.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from tradeloop.bootstrap.app import App
from tradeloop.core.atomic_file import write_atomic
from tradeloop.core.bus import Bus, InProcessBus
from tradeloop.core.errors import ConfigError, DataError
from tradeloop.execution.order_manager import OrderManager
from tradeloop.execution.tick_paper_venue import TickPaperVenue
from tradeloop.risk.gate import JsonRiskStateStore, RiskGate
from tradeloop.usecases.canary_supervisor import CanarySupervisor
from tradeloop.usecases.scalper_config import ScalperConfig
from tradeloop.usecases.scalper_executor import ExecutorStage, ScalperVenue
from tradeloop.usecases.scalper_risk import FILL_STAGE, RiskStage, RoundTripLedger
from tradeloop.usecases.scalper_routing import RoutedExecutor
from tradeloop.usecases.scalper_scorer import CandidateModel, CandidateScorer, LogisticBaseline
from tradeloop.usecases.scalper_signal import SignalEngine
from tradeloop.usecases.stream_stage import APPROVED, CONTROL, Decisions

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from tradeloop.settings import Settings

SERVICES = ("collector", "signal_engine", "ai_scorer", "risk", "executor")


def scalper_dir(app: App) -> Path:
    path = app.settings.home / "run" / "scalper"
    path.mkdir(parents=True, exist_ok=True)
    return path


def consumer_name(app: App, service: str) -> str:
    """A stable consumer name per host and service (``TRADELOOP_CONSUMER`` names replicas):
    a restarted service picks up its own pending messages at once."""
    return app.settings.consumer or f"{socket.gethostname()}-{service}"


def require_redis(settings: Settings) -> SecretStr:
    """``TRADELOOP_REDIS_URL``, else a ConfigError: separate service processes need a
    broker (``tradeloop scalper run`` needs none)."""
    if settings.redis_url is None:
        raise ConfigError(
            "the scalper services meet on Redis Streams: set TRADELOOP_REDIS_URL (e.g. "
            "redis://127.0.0.1:6379/0). Fix: or run every stage in one process with "
            "tradeloop scalper run"
        )
    return settings.redis_url


def stream_bus(app: App) -> Bus:
    """The services' bus: Redis Streams at ``TRADELOOP_REDIS_URL``."""
    url = require_redis(app.settings)
    from tradeloop.adapters.redis.bus import RedisStreamsBus

    streams = app.config.scalper.streams
    return RedisStreamsBus(
        url.get_secret_value(), prefix=streams.prefix, claim_idle_ms=streams.claim_idle_ms,
        block_ms=streams.block_ms, maxlen=streams.maxlen, done_ttl_sec=streams.done_ttl_s,
    )  # fmt: skip


def in_process_bus() -> Bus:
    return InProcessBus()


@dataclass(frozen=True, slots=True)
class JsonCursorStore:
    path: Path

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(
                f"collector cursor {self.path} is unreadable ({exc}). Fix: remove it to start "
                "the tape again from the configured start"
            ) from None
        return data if isinstance(data, dict) else None

    def save(self, cursor: dict[str, Any]) -> None:
        write_atomic(self.path, json.dumps(cursor, sort_keys=True))


def synthetic_tape(app: App, start_ns: int | None, topic: str) -> tuple[Any, JsonCursorStore]:
    from tradeloop.adapters.synthetic.ticks import SyntheticTape, TickParams

    config = app.config.scalper
    store = JsonCursorStore(scalper_dir(app) / "collector-cursor.json")
    saved = store.load() or {}
    start = int(saved.get("_start_ns") or start_ns or time.time_ns())
    synth = config.synthetic
    params = TickParams(
        synth.seed, start, synth.interval_ms, synth.start_price, synth.tick_size, synth.levels,
        synth.volatility_bps,
    )  # fmt: skip
    cursor = {k: v for k, v in saved.items() if not k.startswith("_")}
    tape = SyntheticTape.starting(params, config.symbols, topic, cursor)
    return _StartStamped(tape, start), store


@dataclass(slots=True)
class _StartStamped:
    """The tape's cursor plus its start time, so a restart continues the same tape."""

    tape: Any
    start_ns: int

    @property
    def cursor(self) -> dict[str, Any]:
        return {**self.tape.cursor, "_start_ns": self.start_ns}

    def next_batch(self, steps: int, wall_ns: int) -> list[Any]:
        return list(self.tape.next_batch(steps, wall_ns))

    def reached(self, end_ns: int) -> bool:
        """Every symbol's next step is at or after ``end_ns``."""
        return bool(self.tape.cursor) and all(
            self.tape.next_ts(symbol) >= end_ns for symbol in self.tape.cursor
        )


def candidate_model(config: ScalperConfig) -> CandidateModel:
    path = config.ai_scorer.model_path
    if path is None:
        return LogisticBaseline.from_config(config.ai_scorer)
    from tradeloop.serving.candidate_model import OnnxCandidateModel

    return OnnxCandidateModel.load(Path(path))


def signal_engine(app: App) -> SignalEngine:
    return SignalEngine(app.config.scalper.signal)


def ai_scorer(app: App) -> CandidateScorer:
    """The scorer on ``model_path``, else on the registry's active scalper model (and its
    shadow, scored alongside), else on the logistic baseline."""
    config = app.config.scalper
    scorer = CandidateScorer(candidate_model(config), config.ai_scorer.tau_entry)
    if config.ai_scorer.model_path is None:
        load_registry_models(app, scorer)
    return scorer


def _registry_model(app: App, alias: str) -> tuple[CandidateModel, dict[str, Any]] | None:
    from tradeloop.serving.candidate_model import OnnxCandidateModel

    name = app.config.scalper.ai_scorer.registry_name
    registry = app.registry()
    version = registry.resolve(name, alias)
    if version is None:
        return None
    files, manifest = registry.load(version)
    model = OnnxCandidateModel.from_bytes(files["model.onnx"], f"registry {name} {version}",
                                          version)  # fmt: skip
    return model, manifest


def load_registry_models(app: App, scorer: CandidateScorer) -> dict[str, Any]:
    """Point the scorer at the registry's active and shadow versions (thresholds from their
    manifests); the active manifest (empty: no active, the configured model stays)."""
    active = _registry_model(app, "active")
    manifest: dict[str, Any] = {}
    if active is not None:
        scorer.model, manifest = active
        scorer.tau_entry = float(manifest.get("thresholds", {}).get("tau_entry", scorer.tau_entry))
    shadow = _registry_model(app, "shadow")
    if shadow is not None and shadow[0].model_id != scorer.model.model_id:
        scorer.shadow = shadow[0]
        scorer.shadow_tau = shadow[1].get("thresholds", {}).get("tau_entry")
    else:
        scorer.shadow = scorer.shadow_tau = None
    return manifest


def _hold_frozen_threshold(app: App, scorer: CandidateScorer, tau: float, *, first: bool) -> None:
    """After a release's ramp the thresholds stay as they were for release.freeze_hours:
    a version promoted meanwhile scores with the frozen tau_entry."""
    from tradeloop.usecases.canary_supervisor import load_routing

    routing = load_routing(routing_store(app), app.config.rollout)[1]
    if not first and time.time_ns() < routing.frozen_until_ns and scorer.tau_entry != tau:
        log.warning("tau_entry stays %g (frozen until the release's freeze ends), not %g",
                    tau, scorer.tau_entry)  # fmt: skip
        scorer.tau_entry = tau


def _scorer_watch(app: App, scorer: CandidateScorer, bus: Bus) -> Any:
    """Every few seconds: reload when the registry's active or shadow moved; every minute:
    the active version's recorded parity rows through ONNX (a gap over the tolerance
    counts ``onnx_parity_fail_total`` and sends a PARITY_FAIL control event)."""
    from tradeloop.core.bus import Message
    from tradeloop.serving.candidate_model import OnnxCandidateModel, parity_gap

    name = app.config.scalper.ai_scorer.registry_name
    seen: dict[str, Any] = {"aliases": None, "manifest": {}, "polled": 0.0, "parity": 0.0}

    def watch() -> None:
        now = time.monotonic()
        if now - seen["polled"] >= 5.0:
            seen["polled"] = now
            aliases = app.registry().aliases(name)
            pair = (aliases.get("active"), aliases.get("shadow"))
            if pair != seen["aliases"]:
                tau, first = scorer.tau_entry, seen["aliases"] is None
                seen["aliases"], seen["manifest"] = pair, load_registry_models(app, scorer)
                _hold_frozen_threshold(app, scorer, tau, first=first)
        parity = seen["manifest"].get("parity") or {}
        if (
            not parity
            or now - seen["parity"] < 60.0
            or not isinstance(scorer.model, OnnxCandidateModel)
        ):
            return
        seen["parity"] = now
        gap = parity_gap(scorer.model, parity.get("features", []), parity.get("probabilities", []))
        if gap > app.config.release.parity_tolerance:
            scorer.parity_failures += 1
            event = {"type": "PARITY_FAIL", "model_id": scorer.model.model_id, "gap": gap,
                     "reason": f"ONNX parity gap {gap:.2e}"}  # fmt: skip
            bus.publish(Message(CONTROL, event, f"parity-{scorer.model.model_id}-{int(now)}"))

    return watch


def _decision_log(app: App) -> Any:
    from tradeloop.store.sql.stream_decisions import SqlDecisionLog

    return SqlDecisionLog(app.engine)


def risk_stage(app: App) -> RiskStage:
    log = _decision_log(app)
    gate = RiskGate(
        app.config.risk, app.kill_switch(), JsonRiskStateStore(scalper_dir(app) / "risk-state.json")
    )
    base = Decimal(repr(app.config.scalper.executor.free_balance_usd))
    stage = RiskStage(
        gate, Decisions(log, "risk", time.time_ns), RoundTripLedger(base),
        Decisions(log, FILL_STAGE, time.time_ns),
    )  # fmt: skip
    day_ago = time.time_ns() - 86_400 * 10**9
    stage.rebuild(log.since(FILL_STAGE, day_ago))
    stage.crit_halts = not app.config.fail_safe.switch_to_paper_on_crit
    stage.supervisor = canary_supervisor(app)
    return stage


def canary_supervisor(app: App) -> CanarySupervisor:
    """The canary's guard rails, in the risk service (it sees fills, scorer inputs and
    control events); its rollback moves the registry's active scalper model back."""
    from tradeloop.bootstrap.rollout import actor
    from tradeloop.features.tick_book import CANDIDATE_FEATURES
    from tradeloop.rollout.canary_guard import CanaryGuard

    name = app.config.scalper.ai_scorer.registry_name

    def rollback_model(reason: str) -> str:
        registry = app.registry()
        active = registry.resolve(name, "active")
        if active is None:
            return f"no active {name} model in the registry (nothing to move back)"
        try:
            registry.rollback(name, actor="canary-supervisor", reason=reason[:200],
                              expected_active=active)  # fmt: skip
        except DataError as exc:
            return f"{name} not rolled back: {exc}"
        return f"{name} active {active} -> {registry.resolve(name, 'active')}"

    return CanarySupervisor(
        CanaryGuard(app.config.rollout_guard, CANDIDATE_FEATURES), routing_store(app),
        app.config.rollout, rollback_model, actor(app, "canary-supervisor").notify,
    )  # fmt: skip


def exchange_mode() -> str:
    from tradeloop.settings import load_venue_environment

    return load_venue_environment().mode


def routing_store(app: App) -> Any:
    """Where the routing document (rollout mode, cooldowns, fail-safe) and the releases
    are kept; every write also refreshes var/run/exposure.json (`tradeloop status`)."""
    from tradeloop.bootstrap.rollout import write_exposure
    from tradeloop.store.sql.rollout_records import SqlRolloutStates

    return ProjectedRollouts(SqlRolloutStates(app.engine), lambda: write_exposure(app))


@dataclass(slots=True)
class ProjectedRollouts:
    inner: Any
    changed: Any

    def get(self, name: str) -> tuple[int, dict[str, Any]] | None:
        got: tuple[int, dict[str, Any]] | None = self.inner.get(name)
        return got

    def put(self, name: str, state: dict[str, Any], version: int, now_ns: int) -> bool:
        stored = bool(self.inner.put(name, state, version, now_ns))
        if stored:
            self.changed()
        return stored


def executor_stage(app: App, bus: Bus, group: str = "executor") -> RoutedExecutor:
    """The executor: a paper-simulator lane always, and with ``EXCHANGE_MODE=real`` a lane
    on the venue ``EXCHANGE_VENUE`` names; ``rollout`` routes approved signals between
    them (``disabled``: paper only, ``canary``: a hashed share to the venue, ``full``: all)."""
    from tradeloop.usecases.scalper_routing import PAPER, VENUE

    lanes = {PAPER: _lane(app, bus, group, real=False)}
    if exchange_mode() == "real":
        lanes[VENUE] = _lane(app, bus, group, real=True)
    return RoutedExecutor(lanes, routing_store(app), app.config.rollout, app.config.fail_safe)


def _lane(app: App, bus: Bus, group: str, *, real: bool) -> ExecutorStage:
    from tradeloop.store.sql.order_journal import SqlOrderJournal

    config = app.config.scalper.executor
    mode = "real" if real else "paper"
    tape: TickPaperVenue | None = None
    if real:
        venue: ScalperVenue = app.live_venue()
    else:
        bybit = app.config.venues.bybit_v5
        tape = TickPaperVenue.load(
            scalper_dir(app) / "paper-venue.json", Decimal(repr(config.free_balance_usd)),
            post_only=bybit.post_only or bybit.maker_only, reduce_only=bybit.reduce_only,
            fees={s: (Decimal(repr(i.maker_fee)), Decimal(repr(i.taker_fee)))
                  for s, i in app.config.scalper.instruments.items()},
        )  # fmt: skip
        venue = tape
    journal = SqlOrderJournal(app.engine, f"scalper-{mode}", mode)
    orders = OrderManager(journal, venue, time.time_ns)
    gate = RiskGate(
        app.config.risk, app.kill_switch(),
        JsonRiskStateStore(scalper_dir(app) / f"executor-risk-{mode}.json"),
    )  # fmt: skip
    stage = ExecutorStage(
        config, app.config.scalper.instruments, orders, gate, venue,
        Decisions(_decision_log(app), "executor", time.time_ns),
        backlog=lambda: bus.backlog(APPROVED, group), route=mode, tape=tape,
    )  # fmt: skip
    from tradeloop.usecases.scalper_exits import ExitBook

    ticks = {s: i.tick_size for s, i in app.config.scalper.instruments.items()}
    from tradeloop.monitor.trading_metrics import TradingTracker

    stage.tracker = TradingTracker("venue" if real else "paper", clock=lambda: stage.now_s)
    stage.exits = ExitBook(
        config.exits, orders, ticks, stage.exit_check, entry_ttl_ms=config.exits.entry_ttl_ms,
        on_closed=stage.tracker.on_closed,
    )  # fmt: skip
    if tape is None:
        stage.account_cache_ns = 1_000_000_000  # one venue round trip a second at most
    for status in venue.open_orders():  # exits and entries resting from before a restart
        stage.exits.adopt(status, journal.get(status.client_order_id))
    if tape is not None:
        path = scalper_dir(app) / "paper-venue.json"
        stage.persist = lambda: tape.flush(path)
    orders.settle()  # orders journaled but never sent (killed in between) go now
    return stage


def scalper_app(config_path: Path | None = None) -> App:
    """The app with the ``scalper`` profile under the file's values, unless the file or
    ``TRADELOOP_PROFILE`` names another: these services are the scalper stack."""
    from tradeloop.bootstrap.app import DEFAULT_CONFIG_NAME, build_app
    from tradeloop.core.config import load_yaml_mapping
    from tradeloop.settings import load_settings

    settings = load_settings()
    path = config_path or settings.config
    if path is None and Path(DEFAULT_CONFIG_NAME).exists():
        path = Path(DEFAULT_CONFIG_NAME)
    named = settings.profile or (load_yaml_mapping(path).get("profile") if path else None)
    if not named:
        settings = load_settings(profile="scalper")
    return build_app(settings, path)


def group_of(service: str, consumer: str) -> Any:
    """Work topics are shared by the service's replicas; control events reach each one."""

    def group(topic: str) -> str:
        return f"{service}-{consumer}" if topic == CONTROL else service

    return group


def market_source(app: App, start_ns: int | None, topic: str) -> tuple[Any, JsonCursorStore]:
    """The collector's source: the seeded synthetic tape, or Bybit's public streams."""
    if app.config.scalper.source == "bybit":
        from tradeloop.bootstrap.scalper_bybit import bybit_source

        return bybit_source(app, topic), JsonCursorStore(scalper_dir(app) / "bybit-cursor.json")
    return synthetic_tape(app, start_ns, topic)


def idle_work(app: App, service: str, stage: Any, bus: Bus) -> Any:
    """What a service does between batches: the risk service's data-health scans, the
    executor's poll of a real venue's fills."""
    if service == "risk":
        from tradeloop.bootstrap.scalper_health import health_task

        return health_task(app, stage)
    if service == "executor" and "venue" in stage.lanes:
        return _fill_poller(stage.lanes["venue"], bus)
    if service == "ai_scorer" and app.config.scalper.ai_scorer.model_path is None:
        return _scorer_watch(app, stage, bus)
    return lambda: None


def _fill_poller(stage: ExecutorStage, bus: Bus, every_s: float = 1.0) -> Any:
    last = [0.0]

    def poll() -> None:
        now = time.monotonic()
        if now - last[0] < every_s:
            return
        last[0] = now
        from tradeloop.execution.order_manager import VenueUnavailable

        try:
            events = stage.venue.on_bar(None)  # type: ignore[arg-type]  # polls, ignores the bar
        except VenueUnavailable:
            return  # the next poll asks again; fills are never lost at the venue
        messages = stage.venue_events(list(events))
        if messages:
            bus.publish_many(messages)

    return poll


def stage_counters(stage: Any, runner: Any) -> dict[str, Any]:
    counters: dict[str, Any] = {
        "handled": runner.stats.handled,
        "published": runner.stats.published,
        "retries": runner.stats.retries,
    }
    for name in ("candidates", "scored", "approved", "passed", "sent"):
        if hasattr(stage, name):
            counters[name] = getattr(stage, name)
    for name in ("drops", "warmup_drops", "backpressure"):
        if hasattr(stage, name):
            counters[name] = dict(getattr(stage, name))
    if getattr(stage, "health", None):
        counters["health"] = stage.health
    rollout = _rollout_counters(stage)
    if rollout:
        counters["rollout"] = rollout
    gate = getattr(stage, "gate", None)
    if gate is not None:
        counters["risk_triggers"] = dict(gate.triggers)
        counters["trading_state"] = gate.state.trading_state.value
    return counters


def _rollout_counters(stage: Any) -> dict[str, Any]:
    """The rollout's figures of a stage: the executor's routing, the risk service's
    supervisor, the scorer's shadow and parity counts."""
    if isinstance(stage, RoutedExecutor):
        out = stage.gauges()
        out["rollout_canary_fraction"] = out.pop("canary_fraction_target")
        return out
    supervisor = getattr(stage, "supervisor", None)
    if supervisor is not None:
        return dict(supervisor.gauges())
    if isinstance(stage, CandidateScorer):
        shadow = None if stage.shadow is None else stage.shadow.model_id
        return {
            "onnx_parity_fail": stage.parity_failures,
            "shadow_signals_evaluated": stage.shadow_evaluated,
            "shadow_signals_approved": stage.shadow_approved,
            "model_active_id": stage.model.model_id,
            "model_shadow_id": shadow,
        }
    return {}


def tick_archive(app: App) -> Any:
    from tradeloop.bootstrap.scalper_health import tick_archive_root
    from tradeloop.store.tick_archive import TickArchive

    return TickArchive(tick_archive_root(app))


def run_single_process(
    app: App,
    *,
    max_messages: int | None,
    steps_per_s: float | None,
    start_ns: int | None,
    should_stop: Any,
    on_batch: Any = None,
) -> dict[str, Any]:
    """Every stage in this process on the in-process bus; the run's summary."""
    from tradeloop.bootstrap.scalper_health import check_health
    from tradeloop.usecases.scalper_collector import Pacing
    from tradeloop.usecases.scalper_pipeline import run_in_process
    from tradeloop.usecases.stream_stage import DROPS, FILLS, MARKET, ORDERS, StageRunner

    bus = in_process_bus()
    source, cursor = market_source(app, start_ns, MARKET)
    executor = executor_stage(app, bus)
    stages: list[Any] = [signal_engine(app), ai_scorer(app), risk_stage(app), executor]
    batch = app.config.scalper.streams.batch
    runners = [StageRunner(bus, s, "local", batch=batch) for s in stages]
    archive = tick_archive(app)
    pacing = Pacing(steps_per_s=steps_per_s, max_messages=max_messages)
    stats = run_in_process(
        bus, source, cursor, runners, should_stop=should_stop, pacing=pacing,
        archive=archive.add, on_batch=on_batch,
    )  # fmt: skip
    archive.flush()
    close = getattr(source, "close", None)
    if close is not None:
        close()
    for runner in runners:
        name = runner.stage.name
        write_metrics(app, name, runner.stage, stage_counters(runner.stage, runner))
    outputs: dict[str, list[Any]] = {ORDERS: [], DROPS: [], FILLS: []}
    for topic, items in outputs.items():
        while bus.consume(topic, "summary", "local", items.append, max_messages=10_000):
            pass
    summary = {
        "market_messages": stats.market_messages,
        "stages": {r.stage.name: stage_counters(r.stage, r) for r in runners},
        "orders": len(outputs[ORDERS]),
        "fills": len(outputs[FILLS]),
        "drops": _count(
            m.payload["stage"] + ": " + m.payload["reason"].partition(":")[0]
            for m in outputs[DROPS]
        ),
        "latency_ms": _latencies(outputs[ORDERS]),
        "trading": _trading(executor),
        "health": check_health(app),
    }
    paper = executor.lanes["paper"].venue
    summary["paper"] = {
        "balance": str(paper.balance()),
        "positions": {s: str(q) for s, q in paper.positions().items()},
    }
    summary["routing"] = executor.gauges()
    return summary


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _latencies(orders: list[Any]) -> dict[str, float]:
    import numpy as np

    values = [m.payload["latency_ns"] for m in orders if m.payload.get("latency_ns") is not None]
    if not values:
        return {}
    ms = np.asarray(values, dtype=float) / 1e6
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def write_metrics(app: App, service: str, stage: Any, counters: dict[str, Any]) -> None:
    from tradeloop.monitor.scalper_metrics import write_service_metrics

    path = app.settings.home / "metrics" / f"scalper-{service}.prom"
    lanes = getattr(stage, "lanes", {})
    trackers = [lane.tracker for lane in lanes.values() if lane.tracker is not None]
    write_service_metrics(path, service, counters, trackers)


def _trading(executor: RoutedExecutor) -> dict[str, Any]:
    """The trading figures of the lane that opened the most trades."""
    lanes = [lane for lane in executor.lanes.values() if lane.tracker is not None]
    if not lanes:
        return {}
    lane = max(lanes, key=lambda x: (x.tracker.opened if x.tracker else 0, x.route == "paper"))
    tracker = lane.tracker
    assert tracker is not None
    return {
        "route": tracker.route,
        "trades_opened": tracker.opened,
        "winrate_rolling": tracker.winrate,
        "fill_rate_rolling": tracker.fill_rate,
        **{f"avg_markout_{ms}ms": tracker.markout(ms) for ms in (100, 500, 1000)},
    }
