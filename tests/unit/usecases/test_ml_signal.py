"""The ML-signal strategy's rules, one by one, and its scores joined without look-ahead."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.time import parse_ns
from tradeloop.data.ports import BarRequest
from tradeloop.domain.enums import Side
from tradeloop.execution.backtest import run_backtest
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig, MlSignalConfig
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.ml_signal import MlSignalStrategy
from tradeloop.execution.strategy import StrategyContext
from tradeloop.features.config import PivotConfig
from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.registry.registry import ModelRegistry
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.serving.loader import registry_loader
from tradeloop.testing.event_models import TINY_CONFIG, stub_event_version
from tradeloop.testing.fakes import InMemoryModelRecords
from tradeloop.testing.orders import UNLIMITED_RISK
from tradeloop.usecases.ml_signal_plan import ml_signal_plan, score_bars

MIN5 = 300
STEP = MIN5 * 1_000_000_000
CONFIG = MlSignalConfig(horizon_bars=4, take_profit_bps=50, stop_loss_bps=30)


def _strategy(config: MlSignalConfig = CONFIG) -> MlSignalStrategy:
    return MlSignalStrategy(config, tau_entry=0.7, tau_hold=0.5, bar_interval_sec=MIN5)


def _bar(i: int, close: float, p: float | None = None, side: float | None = None) -> BarView:
    return BarView(
        "SPY", i * STEP, close, close, close, close, 1e6, {"p_signal": p, "signal_side": side}
    )


def _context(position: str = "0", entry: str = "0", opened: int = 0) -> StrategyContext:
    return StrategyContext(
        position=Decimal(position),
        cash=Decimal(10_000),
        equity=Decimal(10_000),
        run_id="r",
        entry_price=Decimal(entry),
        opened_ts=opened,
    )


def test_entry_when_p_reaches_tau_entry_then_long_at_support_short_at_resistance() -> None:
    strategy = _strategy()
    assert strategy.on_bar(_bar(1, 100, 0.69, 1), _context()) == []  # below tau_entry
    long = strategy.on_bar(_bar(2, 100, 0.7, 1), _context())
    assert [(o.side, o.quantity) for o in long] == [(Side.BUY, Decimal(95))]  # 95 % of equity
    short = _strategy().on_bar(_bar(2, 100, 0.9, -1), _context())
    assert [o.side for o in short] == [Side.SELL]
    no_short = _strategy(CONFIG.model_copy(update={"allow_short": False}))
    assert no_short.on_bar(_bar(2, 100, 0.9, -1), _context()) == []
    broke = _strategy(CONFIG.model_copy(update={"target": "broke"}))
    assert [o.side for o in broke.on_bar(_bar(2, 100, 0.9, 1), _context())] == [Side.SELL]


@pytest.mark.parametrize(
    ("bar", "reason"),
    [
        (_bar(3, 100.5), "ml_take_profit"),  # +50 bps
        (_bar(3, 99.7), "ml_stop_loss"),  # -30 bps
        (_bar(3, 100.1, 0.4, 1), "ml_signal_faded"),  # same side, below tau_hold
        (_bar(3, 100.1, 0.8, -1), "ml_opposite_signal"),
        (_bar(6, 100.1), "ml_time_exit"),  # 4 bars after the entry signal at bar 2
    ],
)
def test_exit_rules_when_triggered_then_flat_with_their_reason(bar: BarView, reason: str) -> None:
    strategy = _strategy()
    strategy.on_bar(_bar(2, 100, 0.8, 1), _context())
    orders = strategy.on_bar(bar, _context("95", "100", opened=3 * STEP))
    assert [(o.side, o.quantity, o.reason) for o in orders] == [(Side.SELL, Decimal(95), reason)]


def test_hold_when_signal_supports_then_time_exit_restarts_from_it() -> None:
    strategy = _strategy()
    strategy.on_bar(_bar(2, 100, 0.8, 1), _context())
    held = _context("95", "100", opened=3 * STEP)
    assert strategy.on_bar(_bar(5, 100.1, 0.6, 1), held) == []  # >= tau_hold: extends
    assert strategy.on_bar(_bar(8, 100.1), held) == []  # 3 bars after the last signal
    assert [o.reason for o in strategy.on_bar(_bar(9, 100.1), held)] == ["ml_time_exit"]
    short = _context("-95", "100", opened=3 * STEP)
    exits = _strategy().on_bar(_bar(4, 99.4), short)  # a short gains 60 bps
    assert [(o.side, o.reason) for o in exits] == [(Side.BUY, "ml_take_profit")]


def test_restart_when_state_lost_then_time_exit_counts_from_position_opening() -> None:
    fresh = _strategy()  # a restarted process: no memory of the entry signal
    held = _context("95", "100", opened=10 * STEP)
    assert fresh.on_bar(_bar(13, 100.1), held) == []
    assert [o.reason for o in fresh.on_bar(_bar(14, 100.1), held)] == ["ml_time_exit"]


BARS = SyntheticProvider(11).fetch_bars(
    BarRequest("SPY", parse_ns("2024-03-04"), parse_ns("2024-03-16"), MIN5)
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    registry = ModelRegistry(tmp_path_factory.mktemp("models"), InMemoryModelRecords())
    outcome = stub_event_version(registry)
    registry.promote(
        "pivot-events", outcome.version_id, "active", actor="t", reason="t", force=True
    )
    served = registry_loader(registry, "pivot-events", EVENT_SCHEMA, shadow=False)()
    assert served.active is not None
    return served.active


def test_scores_when_bars_end_earlier_then_same_scores_no_look_ahead(models) -> None:  # type: ignore[no-untyped-def]
    model = next(m for m in models.models if m.target == "held")
    full = score_bars(BARS, model, PivotConfig(), MIN5)
    assert full.height == BARS.height
    scored = full.drop_nulls("p_signal")
    assert scored.height > 20
    cut = scored["ts"][scored.height // 2]
    prefix = score_bars(BARS.filter(pl.col("ts") <= cut), model, PivotConfig(), MIN5)
    assert prefix.filter(pl.col("ts") <= cut).equals(full.filter(pl.col("ts") <= cut))


def test_ml_signal_when_backtested_then_trades_through_the_order_path(
    models,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    plan = ml_signal_plan(
        MlSignalConfig(
            target="held", horizon_bars=TINY_CONFIG.horizons_bars[0], tau_entry=0.55, tau_hold=0.5
        ),
        models,
        PivotConfig(),
        MIN5,
        1,
    )
    engine = simulated_engine(ExecutionConfig(), UNLIMITED_RISK, KillSwitch(tmp_path / "KS"))
    result = run_backtest(
        plan.prepare(BARS), plan.strategy, engine, run_id="ml", extra_columns=plan.columns
    )
    assert result.trades, "the strategy should have entered and exited"
    reasons = {f.client_order_id for f in result.fills}
    assert len(reasons) == len(result.fills)
    assert (
        engine.portfolio.cash
        + sum(
            p.quantity * Decimal(repr(BARS["close"][-1]))
            for p in engine.portfolio.positions.values()
        )
        == result.final_equity
    )
