"""The scalper runbook's sizing formula, by hand, and its use by the ML strategy."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradeloop.risk.sizing import scalper_quantity

D = Decimal


@pytest.mark.parametrize(
    ("price", "free", "leverage", "cap", "lot", "expected"),
    [
        ("100", "1000", "1", None, "0", "10"),  # cash account: whole units
        ("100", "1000", "5", None, "0", "50"),  # leverage multiplies the budget
        ("100", "1000", "5", "2500", "0", "25"),  # ... up to the notional cap
        ("60000", "1000", "10", "5000", "0.001", "0.083"),  # 5000/60000 = 0.0833 -> 0.083
        ("60000", "1000", "10", "5000", "0.01", "0.08"),  # coarser lot: rounded down again
        ("60000", "100", "1", None, "0.01", "0"),  # 0.00166 < one lot: zero, never inflated
        ("0", "1000", "1", None, "0", "0"),
        ("100", "-5", "1", None, "0", "0"),  # no free balance: nothing
    ],
)
def test_scalper_quantity_by_hand(
    price: str, free: str, leverage: str, cap: str | None, lot: str, expected: str
) -> None:
    limit = None if cap is None else D(cap)
    got = scalper_quantity(
        D(price), D(free), leverage=D(leverage), notional_cap_usd=limit, lot_step=D(lot)
    )
    assert got == D(expected)


def test_ml_strategy_with_scalper_sizing_sizes_from_cash_leverage_cap_and_lot() -> None:
    from tradeloop.execution.bar_view import BarView
    from tradeloop.execution.config import MlSignalConfig
    from tradeloop.execution.ml_signal import MlSignalStrategy
    from tradeloop.execution.strategy import StrategyContext
    from tradeloop.risk.config import RiskConfig
    from tradeloop.usecases.ml_signal_plan import _sizer

    risk = RiskConfig(notional_cap_usd=3000, lot_step=0.5, margin_leverage=5)
    config = MlSignalConfig(sizing="scalper")
    strategy = MlSignalStrategy(config, 0.6, 0.5, 60, sizer=_sizer(config, risk))
    bar = BarView("X", 1, 70.0, 70.0, 70.0, 70.0, 1.0, extra={"p_signal": 0.9, "signal_side": 1.0})
    context = StrategyContext(Decimal(0), Decimal(1000), Decimal(1000), "r")
    [order] = strategy.on_bar(bar, context)
    assert order.quantity == D("42.5")  # min(3000, 1000 x 5) / 70 = 42.86 -> 42.5 lots
    assert _sizer(MlSignalConfig(), risk) is None  # fraction sizing: the strategy's own
