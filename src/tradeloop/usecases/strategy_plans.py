"""Built-in strategies by name: the strategy object, the columns it reads from each bar,
and how those columns are computed from the bars (the same in every mode)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from tradeloop.core.errors import ConfigError
from tradeloop.execution.strategy import SmaCrossStrategy, Strategy

STRATEGIES = ("sma_cross", "ml_signal", "pim_agent")


@dataclass(frozen=True, slots=True)
class StrategyPlan:
    """A strategy ready to run: ``prepare(bars)`` adds the ``columns`` it reads."""

    name: str
    title: str
    strategy: Strategy
    columns: tuple[str, ...]
    prepare: Callable[[pl.DataFrame], pl.DataFrame]
    model: Any = None  # the ModelSet an ML strategy acts on (serving stays out of this import)


def sma_cross_plan(params: dict[str, Any], symbols: int, cap: float = 1.0) -> StrategyPlan:
    """``cap``: the largest share of equity one position may take (the risk limits)."""
    fast, slow = int(params.get("fast", 10)), int(params.get("slow", 30))
    if not 0 < fast < slow:
        raise ConfigError(f"--fast {fast} --slow {slow}: need 0 < fast < slow")
    share = min(float(params.get("fraction", 0.95)) / max(symbols, 1), cap)
    fraction = Decimal(repr(share))
    return StrategyPlan(
        name="sma_cross",
        title=f"sma_cross({fast},{slow})",
        strategy=SmaCrossStrategy(None, fraction),
        columns=SmaCrossStrategy.COLUMNS,
        prepare=lambda bars: SmaCrossStrategy.with_indicators(bars, fast, slow),
    )


def user_plan(spec: str) -> StrategyPlan:
    """A user's strategy named ``package.module:ClassName``: built with no arguments; it
    may declare ``COLUMNS`` (names it reads from ``bar.extra``) and a static
    ``prepare(bars) -> bars`` that adds them (docs/strategies.md)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"--strategy {spec!r}: use a built-in ({', '.join(STRATEGIES)}) or "
            "package.module:ClassName"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the console script does not look here by itself
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--strategy {spec}: cannot load it ({exc})") from None
    strategy = factory()
    if not callable(getattr(strategy, "on_bar", None)):
        raise ConfigError(f"--strategy {spec}: {attribute}() has no on_bar(bar, context) method")
    columns = tuple(getattr(strategy, "COLUMNS", ()))
    prepare = getattr(strategy, "prepare", None)
    return StrategyPlan(
        name=spec,
        title=attribute,
        strategy=strategy,
        columns=columns,
        prepare=prepare if callable(prepare) else (lambda bars: bars),
    )
