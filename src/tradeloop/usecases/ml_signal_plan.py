"""The ``ml_signal`` strategy plan: pivot touches scored by the active model version."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import polars as pl

from tradeloop.core.errors import ConfigError
from tradeloop.execution.config import MlSignalConfig
from tradeloop.execution.ml_signal import MlSignalStrategy
from tradeloop.execution.strategy import StrategyContext
from tradeloop.features.config import PivotConfig
from tradeloop.features.touch_events import detect_touch_events
from tradeloop.models.event_models import feature_matrix
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.sizing import scalper_quantity
from tradeloop.serving.model_set import ModelSet, ServedModel
from tradeloop.usecases.strategy_plans import StrategyPlan


def _model_for(models: ModelSet, target: str, horizon: int) -> ServedModel:
    for model in models.models:
        if model.target == target and model.horizon == horizon:
            return model
    offered = ", ".join(f"{m.target}@{m.horizon}" for m in models.models if m.classify)
    raise ConfigError(
        f"ml_signal: model version {models.model_version_id} has no {target} classifier at "
        f"horizon {horizon} (it has {offered}); set ml_signal.target / horizon_bars"
    )


def score_bars(
    bars: pl.DataFrame, model: ServedModel, pivots: PivotConfig, bar_interval_sec: int
) -> pl.DataFrame:
    """``bars`` plus ``p_signal`` and ``signal_side``: the model's calibrated P(target)
    for the touch event each bar closed with (the strongest when several levels were
    touched), null on bars without one. Event features use only bars closed by then."""
    events = detect_touch_events(bars, pivots)
    scored = pl.DataFrame(
        schema={
            "symbol": pl.String,
            "ts": pl.Int64,
            "p_signal": pl.Float64,
            "signal_side": pl.Float64,
        }
    )
    if not events.is_empty():
        p = model.predict(feature_matrix(events))
        scored = (
            events.select(
                "symbol",
                (pl.col("ts_event") - bar_interval_sec * 1_000_000_000).alias("ts"),
                pl.Series("p_signal", np.asarray(p, dtype=np.float64)),
                pl.col("side").cast(pl.Float64).alias("signal_side"),
            )
            .sort("p_signal", descending=True)
            .unique(["symbol", "ts"], keep="first")
        )
    return bars.join(scored, on=["symbol", "ts"], how="left")


def ml_signal_plan(
    config: MlSignalConfig,
    models: ModelSet,
    pivots: PivotConfig,
    bar_interval_sec: int,
    symbols: int,
    cap: float = 1.0,
    risk: RiskConfig | None = None,
) -> StrategyPlan:
    """The ML strategy on ``models`` (the active version), thresholds from the model
    unless the config sets them."""
    model = _model_for(models, config.target, config.horizon_bars)
    tau_entry = config.tau_entry if config.tau_entry is not None else model.tau_entry
    tau_hold = config.tau_hold if config.tau_hold is not None else model.tau_hold
    if tau_entry is None or tau_hold is None:
        raise ConfigError(
            f"ml_signal: model version {models.model_version_id} records no tau_entry/"
            "tau_hold; set ml_signal.tau_entry and ml_signal.tau_hold"
        )
    tau_hold = min(tau_hold, tau_entry)
    sized = config.with_changes(fraction=min(config.fraction / max(symbols, 1), cap))
    return StrategyPlan(
        name="ml_signal",
        title=(
            f"ml_signal({config.target}@{config.horizon_bars}, tau {tau_entry:.3f}/"
            f"{tau_hold:.3f}, model {models.model_version_id})"
        ),
        strategy=MlSignalStrategy(
            sized, tau_entry, tau_hold, bar_interval_sec, sizer=_sizer(config, risk)
        ),
        columns=MlSignalStrategy.COLUMNS,
        prepare=lambda bars: score_bars(bars, model, pivots, bar_interval_sec),
        model=models,
    )


def _sizer(
    config: MlSignalConfig, risk: RiskConfig | None
) -> Callable[[Decimal, StrategyContext], Decimal] | None:
    """The scalper runbook's sizing when ``ml_signal.sizing`` is scalper (None: the
    strategy's own fraction of equity)."""
    if config.sizing != "scalper":
        return None
    limits = risk or RiskConfig()
    cap = None if limits.notional_cap_usd is None else Decimal(repr(limits.notional_cap_usd))

    def size(price: Decimal, context: StrategyContext) -> Decimal:
        return scalper_quantity(
            price,
            context.cash,
            leverage=Decimal(repr(limits.margin_leverage)),
            notional_cap_usd=cap,
            lot_step=Decimal(repr(limits.lot_step)),
        )

    return size
