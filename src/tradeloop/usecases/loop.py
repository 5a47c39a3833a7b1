"""The walking skeleton of the whole loop, each stage a call into its own package.

ingest -> quality -> features -> labels -> walk-forward train -> ONNX + parity ->
register -> gate + promote to ``active`` -> backtest the signal -> report.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from tradeloop.core.errors import DataError, GateRejected
from tradeloop.core.ids import new_run_id
from tradeloop.core.time import iso_from_ns, parse_ns
from tradeloop.data.config import QualityConfig
from tradeloop.data.ports import BarRequest, BarStore, IngestAudit, Provider
from tradeloop.data.quality import empty_quality_report, score_quality
from tradeloop.domain.asset_class import periods_per_year
from tradeloop.domain.enums import Side, SymbolState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.backtest import BacktestResult, run_backtest
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.statistics import summarize
from tradeloop.execution.strategy import RiskOffStrategy, Strategy, StrategyContext, make_order
from tradeloop.features.technical import TECHNICAL_SCHEMA, compute_technical
from tradeloop.labels.forward_returns import forward_return_labels
from tradeloop.models.config import TrainConfig
from tradeloop.models.model_artifact import export_fitted, model_entry
from tradeloop.models.onnx_export import ONNX_TARGET_OPSET
from tradeloop.models.train import build_training_set, train_walk_forward
from tradeloop.monitor.backtest_report import Benchmark, ReportInput, write_backtest_report
from tradeloop.ops.config import LoopConfig
from tradeloop.registry.registry import MODEL_FILE, ModelRegistry
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.serving.model_set import load_model_set
from tradeloop.usecases.backtest_run import hold_curve

Progress = Callable[[str, int, int], None]
STAGES = ("ingest", "features", "train", "register", "backtest", "report")


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """Every component config the loop needs."""

    loop: LoopConfig = field(default_factory=LoopConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)


@dataclass(frozen=True, slots=True)
class LoopDeps:
    """The concrete collaborators, picked by the composition root."""

    provider: Provider
    bars: BarStore
    audit: IngestAudit
    registry: ModelRegistry
    kill_switch: KillSwitch
    reports_dir: Path


@dataclass(frozen=True, slots=True)
class LoopResult:
    run_id: str
    as_of_ns: int
    symbols: tuple[str, ...]
    quality: dict[str, float]
    model_version_id: str
    promoted: bool
    gate_reasons: tuple[str, ...]
    metrics: dict[str, float]
    baseline: dict[str, float]
    parity_max_abs: float
    strategy: dict[str, float]
    buy_and_hold: dict[str, float]  # at the strategy's exposure (``exposure_fraction``)
    buy_and_hold_full: dict[str, float]  # fully invested
    exposure_fraction: float  # the strategy's position size: the risk cap or less
    latest_signal: float
    report_path: Path
    model_path: Path
    seconds: float


class _BuyAndHold:
    """Invest ``fraction`` of equity on the first bar and never sell (the benchmark)."""

    def __init__(self, fraction: float) -> None:
        self.fraction = Decimal(repr(fraction))

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        if context.position != 0:
            return []
        units = (context.equity * self.fraction / Decimal(repr(bar.close))).to_integral_value(
            rounding="ROUND_FLOOR"
        )
        return [make_order(context, bar, Side.BUY, units, "buy_and_hold")] if units else []


def _ingest(
    deps: LoopDeps, settings: LoopSettings, run_id: str, quick: bool, progress: Progress
) -> dict[str, float]:
    """Fetch, validate, score and store each symbol; quarantine a symbol whose data is bad.

    Each symbol is written in its own transaction, so a bad symbol never leaves half its
    bars behind and never blocks the good ones.
    """
    loop = settings.loop
    end_ns = parse_ns(loop.as_of) + 1 if loop.as_of else time.time_ns()
    deps.audit.start_run(run_id, "loop_backfill", len(loop.symbols))
    scores: dict[str, float] = {}
    failures: dict[str, str] = {}
    written = 0
    for number, symbol in enumerate(loop.symbols, start=1):
        request = BarRequest(symbol, parse_ns(loop.history_start), end_ns, loop.bar_interval_s)
        try:
            bars = deps.provider.fetch_bars(request)
            if quick:
                bars = bars.tail(loop.quick_last_bars)
            if bars.is_empty():
                raise DataError(
                    f"provider {deps.provider.name!r} returned no bars for {symbol} from "
                    f"{loop.history_start} to {iso_from_ns(end_ns - 1)}. Fix: check the "
                    "symbol, history_start and as_of."
                )
        except DataError as exc:
            failures[symbol] = str(exc)
            deps.audit.record_symbol(
                run_id,
                empty_quality_report(symbol),
                deps.provider.name,
                SymbolState.QUARANTINED,
                str(exc),
            )
            progress("ingest", number, len(loop.symbols))
            continue
        report = score_quality(bars, settings.quality)
        state = SymbolState.ACTIVE if report.accepted else SymbolState.QUARANTINED
        reason = f"quality {report.score:.3f} (min {settings.quality.min_score})"
        if report.accepted:
            written += deps.bars.upsert_bars(bars)
            scores[symbol] = report.score
        else:
            failures[symbol] = reason
        deps.audit.record_symbol(run_id, report, deps.provider.name, state, reason)
        progress("ingest", number, len(loop.symbols))
    deps.audit.finish_run(
        run_id,
        "OK" if not failures else ("PARTIAL" if scores else "FAILED"),
        symbols_ok=len(scores),
        symbols_rejected=len(failures),
        rows_written=written,
    )
    traded = loop.symbols[0]
    if traded in failures:
        raise DataError(f"{traded} (the traded symbol) was quarantined: {failures[traded]}")
    return scores


@dataclass(frozen=True, slots=True)
class _Prepared:
    """The stored bars up to ``as_of``, their features and the training set."""

    bars: pl.DataFrame
    features: pl.DataFrame
    dataset: Any
    as_of_ns: int


@dataclass(frozen=True, slots=True)
class _Trained:
    """The walk-forward model, registered (and promoted if the gate let it)."""

    result: Any
    parity: float
    target: str
    version: Any
    promoted: bool
    gate_reasons: tuple[str, ...]
    active_id: str | None


@dataclass(frozen=True, slots=True)
class _Traded:
    """The strategy and its benchmarks over the out-of-sample bars of the traded symbol."""

    bars: pl.DataFrame
    exposure: float
    strategy: BacktestResult
    benchmark: BacktestResult


@dataclass(frozen=True, slots=True)
class _Stages:
    """What the stages produced, for the report."""

    run_id: str
    quality: dict[str, float]
    prepared: _Prepared
    trained: _Trained
    traded: _Traded
    latest_signal: float
    progress: Progress


def run_loop(
    deps: LoopDeps,
    settings: LoopSettings,
    *,
    quick: bool = False,
    progress: Progress | None = None,
) -> LoopResult:
    """Run the loop once; every stage reads only data at or before ``as_of``."""
    started = time.perf_counter()
    report_progress: Progress = progress or (lambda _stage, _done, _total: None)
    train_config = settings.train
    if quick:
        train_config = train_config.with_changes(
            folds=3, min_train_rows=min(train_config.min_train_rows, 600)
        )
    run_id = new_run_id("loop")
    quality = _ingest(deps, settings, run_id, quick, report_progress)
    prepared = _prepare(deps, settings, train_config, quality)
    report_progress("features", 1, 1)
    trained = _train(deps, settings, train_config, prepared, run_id, report_progress)
    report_progress("register", 1, 1)
    traded = _trade(deps, settings, prepared, trained, run_id, report_progress)
    latest_signal = _latest_signal(deps, settings, prepared, trained)
    stages = _Stages(run_id, quality, prepared, trained, traded, latest_signal, report_progress)
    result = _report(deps, settings, stages)
    return dataclasses.replace(result, seconds=time.perf_counter() - started)


def _prepare(
    deps: LoopDeps, settings: LoopSettings, train_config: TrainConfig, quality: dict[str, float]
) -> _Prepared:
    loop = settings.loop
    stored = [deps.bars.load_bars(symbol, loop.bar_interval_s) for symbol in quality]
    bars = pl.concat(stored)
    as_of_ns = parse_ns(loop.as_of) if loop.as_of else int(bars["ts"].to_numpy().max())
    bars = bars.filter(pl.col("ts") <= as_of_ns)
    features = compute_technical(bars)
    horizons = tuple(sorted({1, 5, 20, train_config.target_horizon_bars}))
    labels = forward_return_labels(bars, horizons, as_of_ns=as_of_ns)
    dataset = build_training_set(features, labels, TECHNICAL_SCHEMA, train_config)
    return _Prepared(bars, features, dataset, as_of_ns)


def _train(
    deps: LoopDeps,
    settings: LoopSettings,
    train_config: TrainConfig,
    prepared: _Prepared,
    run_id: str,
    report_progress: Progress,
) -> _Trained:
    loop = settings.loop
    result = train_walk_forward(
        prepared.dataset,
        train_config,
        on_fold=lambda done, total: report_progress("train", done, total),
    )
    dataset = prepared.dataset
    exported = export_fitted(result.model, "lightgbm", True, dataset.features, dataset.target)
    parity = exported.parity_max_abs
    target = (
        f"forward {train_config.target_horizon_bars}-bar log return < "
        f"{train_config.drawdown_log_return}"
        if train_config.target == "drawdown"
        else f"forward {train_config.target_horizon_bars}-bar log return > 0"
    )
    manifest: dict[str, Any] = {
        "kind": "lightgbm-classifier",
        "target": target,
        "feature_version": TECHNICAL_SCHEMA.version,
        "feature_schema_hash": TECHNICAL_SCHEMA.schema_hash,
        "features": list(TECHNICAL_SCHEMA.names),
        "symbols": list(loop.symbols),
        "bar_interval_sec": loop.bar_interval_s,
        "data_start": iso_from_ns(result.data_start_ns),
        "data_end": iso_from_ns(result.data_end_ns),
        "as_of": iso_from_ns(prepared.as_of_ns),
        "metrics": result.metrics,
        "baseline": result.baseline,
        "onnx_opset": ONNX_TARGET_OPSET,
        "trained_end_ns": result.data_end_ns,
        "parity_max_abs": parity,
        "train_config": train_config.model_dump(),
        "run_id": run_id,
        # The one ML line: served like every other model version (load_model_set).
        "models": {
            MODEL_FILE: model_entry(
                exported,
                algorithm="lightgbm",
                classify=True,
                target=train_config.target,
                horizon=train_config.target_horizon_bars,
                metrics=result.metrics,
                baseline=result.baseline,
            )
        },
    }
    files = {MODEL_FILE: exported.onnx_bytes}
    version = deps.registry.register(loop.model_name, files, manifest)
    gate_reasons: tuple[str, ...] = ()
    try:
        deps.registry.promote(
            loop.model_name, version.model_version_id, "active", actor="demo", reason="demo loop"
        )
        promoted = True
    except GateRejected as exc:
        promoted = False
        gate_reasons = (str(exc),)
    active_id = deps.registry.resolve(loop.model_name, "active")
    return _Trained(result, parity, target, version, promoted, gate_reasons, active_id)


def _trade(
    deps: LoopDeps,
    settings: LoopSettings,
    prepared: _Prepared,
    trained: _Trained,
    run_id: str,
    report_progress: Progress,
) -> _Traded:
    loop, result = settings.loop, trained.result
    traded = loop.symbols[0]
    oos = pl.DataFrame(
        {"symbol": result.oos_symbols, "ts": result.oos_ts, "p_signal": result.oos_p_up}
    ).filter(pl.col("symbol") == traded)
    trade_bars = (
        prepared.bars.filter(pl.col("symbol") == traded)
        .join(oos, on=["symbol", "ts"], how="inner")
        .sort("ts")
    )
    # Sized within the risk limits (max_position_size, heat): otherwise every entry is denied.
    exposure = min(loop.exposure_fraction, settings.risk.position_fraction_cap(1))
    strategy_run = _backtest(
        deps,
        settings,
        trade_bars,
        run_id,
        RiskOffStrategy(loop.exit_probability, exposure),
        report_progress,
    )
    benchmark_run = _backtest(
        deps, settings, trade_bars, run_id + "-bh", _BuyAndHold(exposure), None
    )
    return _Traded(trade_bars, exposure, strategy_run, benchmark_run)


def _latest_signal(
    deps: LoopDeps, settings: LoopSettings, prepared: _Prepared, trained: _Trained
) -> float:
    """The active model's score on the traded symbol's newest bar (NaN without one)."""
    if trained.active_id is None:
        return float("nan")
    active_files, active_manifest = deps.registry.load(trained.active_id)
    try:
        served = load_model_set(active_files, active_manifest, TECHNICAL_SCHEMA).models[0]
    except DataError:
        return float("nan")  # an active version of an older release: retrain to score
    traded = settings.loop.symbols[0]
    features = prepared.features
    latest = features.filter(pl.col("symbol") == traded).drop_nulls().sort("ts").tail(1)
    if not latest.height:
        return float("nan")
    row = latest.select(TECHNICAL_SCHEMA.names).to_numpy().astype("float32")
    return float(served.predict(row)[0])


@dataclass(frozen=True, slots=True)
class _Curves:
    """The traded symbol's equity curves and their statistics: the strategy, buy and hold
    at the same exposure, and fully invested buy and hold."""

    ts: Any
    strategy: Any
    benchmark: Any
    full: Any
    stats: dict[str, dict[str, float]]


def _curves(settings: LoopSettings, traded_run: _Traded) -> _Curves:
    loop = settings.loop
    periods = periods_per_year(loop.bar_interval_s, [loop.symbols[0]])
    strategy_run, benchmark_run = traded_run.strategy, traded_run.benchmark
    ts = strategy_run.equity["ts"].to_numpy()
    strategy = strategy_run.equity["equity"].to_numpy()
    benchmark = benchmark_run.equity["equity"].to_numpy()
    full = hold_curve(traded_run.bars, ts, float(settings.execution.initial_cash_usd))
    stats = {
        "strategy": summarize(strategy, strategy_run.trades, periods),
        "buy_and_hold": summarize(benchmark, benchmark_run.trades, periods),
        "buy_and_hold_full": summarize(full, [], periods),
    }
    return _Curves(ts, strategy, benchmark, full, stats)


def _notes(settings: LoopSettings, trained: _Trained, traded_run: _Traded) -> tuple[str, ...]:
    loop, share = settings.loop, f"{traded_run.exposure:.0%} of equity"
    notes = [
        f"Position size: {share} (loop.exposure_fraction {loop.exposure_fraction:.0%}, "
        f"capped by risk.max_position_size / max_portfolio_heat at "
        f"{settings.risk.position_fraction_cap(1):.0%}). Compare the strategy with buy and "
        f"hold at the same {share}; the fully invested one shows the market itself.",
        "Signals are walk-forward out-of-sample scores: each was produced by a model "
        "trained only on data that had matured before it (purged, embargoed).",
        f"Fills at the next bar's open, commission {settings.execution.commission_rate:.4%} "
        f"per fill, slippage {settings.execution.slippage_bps} bps.",
    ]
    if not trained.promoted:
        notes.append(
            "Gate refused the candidate (" + "; ".join(trained.gate_reasons) + "); the signal "
            "above is the refused candidate's, and 'active' still points to "
            f"{trained.active_id or 'nothing'}."
        )
    if traded_run.strategy.rejected:
        notes.append(f"{len(traded_run.strategy.rejected)} order(s) denied by risk checks.")
    return tuple(notes)


def _model_rows(trained: _Trained, latest_signal: float) -> dict[str, Any]:
    metrics, baseline = trained.result.metrics, trained.result.baseline
    return {
        "version": trained.version.model_version_id,
        "active": trained.active_id,
        "target": trained.target,
        "OOS AUC (baseline)": f"{metrics['auc']:.4f} ({baseline['auc']:.4f})",
        "OOS log loss (baseline)": f"{metrics['log_loss']:.4f} ({baseline['log_loss']:.4f})",
        "ONNX parity max |Δp|": f"{trained.parity:.2e}",
        "latest P(drawdown)": f"{latest_signal:.4f}",
        "feature_schema_hash": TECHNICAL_SCHEMA.schema_hash[:16],
    }


def _report(deps: LoopDeps, settings: LoopSettings, stages: _Stages) -> LoopResult:
    """The backtest report, the audit event and the loop's result."""
    loop, trained, traded_run = settings.loop, stages.trained, stages.traded
    result, version, traded = trained.result, trained.version, loop.symbols[0]
    curves = _curves(settings, traded_run)
    share = f"{traded_run.exposure:.0%} of equity"
    report_path = write_backtest_report(
        ReportInput(
            title=f"tradeloop: {loop.model_name} on {traded}",
            symbol=traded,
            ts=curves.ts,
            strategy_label=f"strategy (at most {share})",
            strategy_equity=curves.strategy,
            strategy_stats=curves.stats["strategy"],
            benchmarks=(
                Benchmark(f"buy and hold, {share}", curves.benchmark, curves.stats["buy_and_hold"]),
                Benchmark(
                    "buy and hold, fully invested (no costs)",
                    curves.full,
                    curves.stats["buy_and_hold_full"],
                ),
            ),
            model=_model_rows(trained, stages.latest_signal),
            notes=_notes(settings, trained, traded_run),
        ),
        deps.reports_dir,
        f"backtest_{stages.run_id}",
    )
    (deps.reports_dir / "backtest_latest.md").write_text(report_path.read_text())
    stages.progress("report", 1, 1)
    deps.audit.record_event(
        "loop_completed",
        stages.run_id,
        {
            "model_version_id": version.model_version_id,
            "promoted": trained.promoted,
            **curves.stats,
            "exposure_fraction": traded_run.exposure,
        },
        "demo",
    )
    return LoopResult(
        run_id=stages.run_id,
        as_of_ns=stages.prepared.as_of_ns,
        symbols=loop.symbols,
        quality=stages.quality,
        model_version_id=version.model_version_id,
        promoted=trained.promoted,
        gate_reasons=trained.gate_reasons,
        metrics=result.metrics,
        baseline=result.baseline,
        parity_max_abs=trained.parity,
        strategy=curves.stats["strategy"],
        buy_and_hold=curves.stats["buy_and_hold"],
        buy_and_hold_full=curves.stats["buy_and_hold_full"],
        exposure_fraction=traded_run.exposure,
        latest_signal=stages.latest_signal,
        report_path=report_path,
        model_path=Path(version.path),
        seconds=0.0,  # run_loop sets the wall time
    )


def _backtest(
    deps: LoopDeps,
    settings: LoopSettings,
    bars: pl.DataFrame,
    run_id: str,
    strategy: Strategy,
    progress: Progress | None,
) -> BacktestResult:
    engine = simulated_engine(settings.execution, settings.risk, deps.kill_switch)
    return run_backtest(
        bars,
        strategy,
        engine,
        run_id=run_id,
        extra_columns=("p_signal",),
        on_progress=(lambda done, total: progress("backtest", done, total)) if progress else None,
    )
