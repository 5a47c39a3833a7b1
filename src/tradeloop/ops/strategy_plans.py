"""Built-in strategies by name: the strategy object, the columns it reads from each bar,
and how those columns are computed from the bars (the same in every mode)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from tradeloop.core.errors import ConfigError
from tradeloop.execution.strategy import SmaCrossStrategy, Strategy

STRATEGIES = ("sma_cross", "ml_signal")


@dataclass(frozen=True, slots=True)
class StrategyPlan:
    """A strategy ready to run: ``prepare(bars)`` adds the ``columns`` it reads."""

    name: str
    title: str
    strategy: Strategy
    columns: tuple[str, ...]
    prepare: Callable[[pl.DataFrame], pl.DataFrame]


def sma_cross_plan(params: dict[str, Any], symbols: int) -> StrategyPlan:
    fast, slow = int(params.get("fast", 10)), int(params.get("slow", 30))
    if not 0 < fast < slow:
        raise ConfigError(f"--fast {fast} --slow {slow}: need 0 < fast < slow")
    fraction = Decimal(repr(float(params.get("fraction", 0.95)))) / max(symbols, 1)
    return StrategyPlan(
        name="sma_cross",
        title=f"sma_cross({fast},{slow})",
        strategy=SmaCrossStrategy(None, fraction),
        columns=SmaCrossStrategy.COLUMNS,
        prepare=lambda bars: SmaCrossStrategy.with_indicators(bars, fast, slow),
    )
