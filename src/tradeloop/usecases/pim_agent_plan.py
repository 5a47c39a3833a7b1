"""The ``pim_agent`` strategy plan: a registered agent, its curve version, and the states
of the run's bars built by the same code as in training (the stored history before the
run's first bar warms the year-long windows up)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from tradeloop.execution.pim_agent import PimAgentStrategy
from tradeloop.models.config import AgentConfig, CurveConfig
from tradeloop.models.rl.market_state import STATE_COLUMNS
from tradeloop.models.rl.policy import AgentPolicy
from tradeloop.registry.registry import ModelRegistry
from tradeloop.usecases.agent_data import state_frame
from tradeloop.usecases.agent_training import (
    AGENT_MODEL_NAME,
    POLICY_FILE,
    STATE_SCHEMA_HASH,
    load_curve,
)
from tradeloop.usecases.curve_training import BarsOf, OptionalRows
from tradeloop.usecases.strategy_plans import StrategyPlan

BAR_COLUMNS = ("symbol", "ts", "open", "high", "low", "close", "volume")


def _with_run_bars(bars_of: BarsOf, run_bars: pl.DataFrame) -> BarsOf:
    """Stored bars, with the run's own bars in place of stored ones of the same session."""

    def merged(symbols: list[str]) -> pl.DataFrame:
        stored = bars_of(symbols).select(BAR_COLUMNS)
        given = run_bars.filter(pl.col("symbol").is_in(symbols)).select(BAR_COLUMNS)
        both = pl.concat([given, stored], how="vertical_relaxed")
        return both.unique(["symbol", "ts"], keep="first").sort("symbol", "ts")

    return merged


def pim_agent_plan(
    registry: ModelRegistry, ref: str, sources: tuple[BarsOf, Callable[[list[str]], OptionalRows]],
    curve_config: CurveConfig, cap: float,
    decisions: Callable[[dict[str, Any]], None] | None = None,
) -> StrategyPlan:  # fmt: skip
    from tradeloop.core.errors import DataError

    version = registry.find(ref, AGENT_MODEL_NAME)
    files, manifest = registry.load(version.model_version_id)
    if manifest.get("feature_schema_hash") != STATE_SCHEMA_HASH:
        raise DataError(
            f"agent {version.model_version_id} was built on another market state. Fix: "
            "retrain it (tradeloop agent train)"
        )
    config = AgentConfig.model_validate(manifest["agent_config"])
    _, curve = load_curve(registry, str(manifest["curve_version_id"]))
    bars_of, optional_of = sources

    def prepare(bars: pl.DataFrame) -> pl.DataFrame:
        symbols = sorted(bars["symbol"].unique().to_list())
        states = state_frame(_with_run_bars(bars_of, bars), symbols, curve, curve_config,
                             optional_of(symbols))  # fmt: skip
        return bars.join(states.select("symbol", "ts", *STATE_COLUMNS), on=["symbol", "ts"],
                         how="left")  # fmt: skip

    strategy = PimAgentStrategy(
        AgentPolicy(files[POLICY_FILE], manifest["branches"]), tuple(config.sizes),
        allow_short=config.allow_short, stops=(config.stop_base, config.stop_risk), cap=cap,
        decisions=decisions,
    )  # fmt: skip
    return StrategyPlan(
        name="pim_agent",
        title=f"pim_agent({manifest['algo']}, agent {version.model_version_id})",
        strategy=strategy,
        columns=STATE_COLUMNS,
        prepare=prepare,
    )
