"""Each risk rule, shown firing and shown not firing, plus the state that must survive."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tradeloop.core.time import parse_ns
from tradeloop.domain.enums import Side, TradingState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.gate import JsonRiskStateStore, OrderCheck, RiskGate
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.orders import UNLIMITED_RISK

NOON_ET = parse_ns("2024-03-05T17:00:00Z")  # 12:00 in New York
MINUTE = 60_000_000_000


def _gate(tmp_path: Path, store: bool = False, **limits: Any) -> RiskGate:
    return RiskGate(
        UNLIMITED_RISK.model_copy(update=limits),
        KillSwitch(tmp_path / "KILL_SWITCH"),
        JsonRiskStateStore(tmp_path / "risk_state.json") if store else None,
    )


def _check(
    quantity: str = "10",
    side: Side = Side.BUY,
    symbol: str = "SPY",
    positions: dict[str, str] | None = None,
    price: str = "100",
    equity: str = "10000",
    ts: int = NOON_ET,
    marks: dict[str, str] | None = None,
    cash: str | None = None,
) -> OrderCheck:
    return OrderCheck(
        order=SubmitOrder("o", symbol, side, Decimal(quantity), ts_init=ts),
        price=Decimal(price),
        equity=Decimal(equity),
        positions={s: Decimal(q) for s, q in (positions or {}).items()},
        marks={s: Decimal(m) for s, m in (marks or {}).items()},
        ts=ts,
        cash=None if cash is None else Decimal(cash),
    )


def _code(gate: RiskGate, check: OrderCheck) -> str | None:
    reason = gate.denial(check)
    return None if reason is None else reason.partition(":")[0]


@pytest.mark.parametrize(
    ("limits", "firing", "passing", "code"),
    [
        ({"max_position_size": 0.2}, _check("21"), _check("20"), "MAX_POSITION_SIZE"),
        (
            {"max_portfolio_heat": 0.5},
            _check("20", positions={"QQQ": "31"}, marks={"QQQ": "100"}),
            _check("20", positions={"QQQ": "30"}, marks={"QQQ": "100"}),
            "PORTFOLIO_HEAT",
        ),
        (
            {"max_sector_exposure": 0.4, "sectors": {"SPY": "index", "QQQ": "index"}},
            _check("20", positions={"QQQ": "21"}, marks={"QQQ": "100"}),
            _check("20", positions={"QQQ": "20"}, marks={"QQQ": "100"}),
            "SECTOR_EXPOSURE",
        ),
        ({"allowed_symbols": ("QQQ",)}, _check(), _check(symbol="QQQ"), "SYMBOL_NOT_ALLOWED"),
        (
            {"trading_hours": ("10:00", "15:30")},
            _check(ts=parse_ns("2024-03-05T14:59:00Z")),  # 09:59 ET
            _check(ts=parse_ns("2024-03-05T15:00:00Z")),  # 10:00 ET
            "OUTSIDE_TRADING_HOURS",
        ),
        ({"max_order_notional_usd": 999.0}, _check("10"), _check("9"), "MAX_ORDER_NOTIONAL"),
        (
            {"max_deployed_usd": 2000.0},
            _check("11", positions={"QQQ": "10"}, marks={"QQQ": "100"}),  # 2,100 USD
            _check("10", positions={"QQQ": "10"}, marks={"QQQ": "100"}),  # 2,000 USD
            "MAX_DEPLOYED",
        ),
        (
            {"allow_short": False},
            _check("11", side=Side.SELL, positions={"SPY": "10"}),  # flips to short
            _check("10", side=Side.SELL, positions={"SPY": "10"}),  # back to flat
            "SHORT_NOT_ALLOWED",
        ),
        ({"max_position_notional_usd": 999.0}, _check("10"), _check("9"), "MAX_POSITION_NOTIONAL"),
        ({"max_gross_leverage": 1.0}, _check("101"), _check("100"), "INSUFFICIENT_BUYING_POWER"),
        ({"min_order_qty": 10.0}, _check("9"), _check("10"), "BELOW_VENUE_MINIMUM"),
        ({"min_order_notional_usd": 1000.0}, _check("9"), _check("10"), "BELOW_VENUE_MINIMUM"),
        (
            {"min_free_balance_usd": 500.0},
            _check("96", cash="10000"),  # 9,600 spent: 400 left
            _check("95", cash="10000"),
            "MIN_FREE_BALANCE",
        ),
        (
            # 50x: liquidation ~1.5 % away; 1.5 x a 120 bps stop needs 1.8 %.
            {"margin_leverage": 50.0, "assumed_stop_bps": 120.0, "max_gross_leverage": 10.0},
            _check("10"),
            _check("10", side=Side.SELL, positions={"SPY": "10"}),  # closing: no new risk
            "NEAR_LIQUIDATION",
        ),
    ],
)
def test_rule_when_limit_crossed_then_denied_and_counted_else_passes(
    tmp_path: Path, limits: dict[str, Any], firing: OrderCheck, passing: OrderCheck, code: str
) -> None:
    gate = _gate(tmp_path, **limits)
    assert _code(gate, passing) is None
    assert _code(gate, firing) == code
    assert gate.counts[code] == 1


def test_new_risk_rules_when_order_only_shrinks_a_position_then_it_passes(tmp_path: Path) -> None:
    gate = _gate(tmp_path, max_position_size=0.1, allowed_symbols=("QQQ",))
    gate.state.daily_halt = "tripped earlier"
    closing = _check("50", Side.SELL, positions={"SPY": "50"})
    assert _code(gate, closing) is None
    assert _code(gate, _check("60", Side.SELL, positions={"SPY": "50"})) is not None  # flips
    assert _code(gate, _check("5")) == "SYMBOL_NOT_ALLOWED"


def test_kill_switch_and_trading_states_when_set_then_orders_denied(tmp_path: Path) -> None:
    gate = _gate(tmp_path)
    closing = _check("5", Side.SELL, positions={"SPY": "10"})
    gate.set_trading_state(TradingState.REDUCING, "position limit breach")
    assert _code(gate, _check()) == "REDUCING"
    assert _code(gate, closing) is None
    gate.set_trading_state(TradingState.HALTED, "3 venue failures")
    assert _code(gate, closing) == "HALTED"
    gate.set_trading_state(TradingState.ACTIVE, "")
    gate.kill_switch.engage("test")
    assert _code(gate, closing) == "KILL_SWITCH"
    gate.kill_switch.release()
    assert _code(gate, closing) is None


def test_close_all_when_kill_switch_or_halted_then_only_flattening_passes(tmp_path: Path) -> None:
    gate = _gate(tmp_path, max_order_notional_usd=100)
    held = {"SPY": "10"}

    def order(quantity: str, side: Side, reason: str) -> OrderCheck:
        check = _check(quantity, side, positions=held)
        flagged = dataclasses.replace(check.order, reason=reason)
        return dataclasses.replace(check, order=flagged)

    gate.kill_switch.engage("halt, then close all")
    assert _code(gate, order("10", Side.SELL, "close_all")) is None  # flat: passes (and > 100)
    assert _code(gate, order("20", Side.SELL, "close_all")) == "KILL_SWITCH"  # would go short
    assert _code(gate, order("10", Side.SELL, "sma_cross_down")) == "KILL_SWITCH"
    gate.kill_switch.release()
    gate.set_trading_state(TradingState.HALTED, "3 venue failures")
    assert _code(gate, order("10", Side.SELL, "close_all")) is None
    assert _code(gate, order("5", Side.BUY, "close_all")) == "HALTED"  # adds: never


def test_first_day_when_live_account_opened_today_then_smaller_position_limit(
    tmp_path: Path,
) -> None:
    limits = {"max_position_size": 0.20, "first_day_position_size": 0.10}
    opened = NOON_ET - 3 * 3600 * 10**9  # 09:00 New York, the same trading day
    gate = RiskGate(
        UNLIMITED_RISK.model_copy(update=limits), KillSwitch(tmp_path / "KS"), opened_ns=opened
    )
    fifteen_percent = _check("15")  # 15 x 100 of 10,000 equity
    reason = gate.denial(fifteen_percent)
    assert reason is not None
    assert reason.startswith("MAX_POSITION_SIZE: SPY would be 15.0% of equity (first-day limit")
    next_day = _check("15", ts=NOON_ET + 86_400 * 10**9)
    assert gate.denial(next_day) is None
    paper = RiskGate(UNLIMITED_RISK.model_copy(update=limits), KillSwitch(tmp_path / "KS"))
    assert paper.denial(fifteen_percent) is None  # no opening day given: paper limits


def test_first_day_config_when_live_first_day_then_its_limits_and_halt_apply_that_day_only(
    tmp_path: Path,
) -> None:
    from tradeloop.rollout.config import FirstDayLimits
    from tradeloop.rollout.ramp import first_day_risk

    base = UNLIMITED_RISK.model_copy(update={"max_position_size": 0.2, "daily_loss_limit": 0.05})
    first = first_day_risk(base, FirstDayLimits())
    opened = NOON_ET - 3 * 3600 * 10**9
    gate = RiskGate(base, KillSwitch(tmp_path / "KS"), opened_ns=opened, first_day_config=first)
    day2 = NOON_ET + 86_400 * 10**9
    for check, code in [
        (_check("5"), "SYMBOL_NOT_ALLOWED"),  # SPY is not in AAPL, MSFT, GOOGL
        (_check("5", symbol="AAPL", side=Side.SELL), "SHORT_NOT_ALLOWED"),
        (_check("11", symbol="AAPL"), "MAX_POSITION_SIZE"),
        (_check("5", symbol="AAPL", ts=parse_ns("2024-03-05T20:31:00Z")), "OUTSIDE_TRADING_HOURS"),
    ]:
        assert _code(gate, check) == code
        assert _code(gate, dataclasses.replace(check, ts=check.ts + 86_400 * 10**9)) is None
    assert _code(gate, _check("5", symbol="AAPL")) is None
    # the first day halts at a 2 % loss, the next days at the configured 5 %
    gate.on_equity(NOON_ET, Decimal(10_000))
    gate.on_equity(NOON_ET + MINUTE, Decimal(9_790))
    assert gate.state.daily_halt.startswith("day loss 210.00 >= 2.0%")
    gate.on_equity(day2, Decimal(10_000))
    gate.on_equity(day2 + MINUTE, Decimal(9_790))
    assert gate.state.daily_halt == ""


def test_daily_loss_when_limit_reached_then_no_new_risk_until_next_day(tmp_path: Path) -> None:
    gate = _gate(tmp_path, daily_loss_limit=0.05)
    gate.on_equity(NOON_ET, Decimal(10_000))  # the day starts at 10,000
    gate.on_equity(NOON_ET + MINUTE, Decimal(9_501))
    assert _code(gate, _check(ts=NOON_ET + MINUTE)) is None
    gate.on_equity(NOON_ET + 2 * MINUTE, Decimal(9_500))
    assert _code(gate, _check(ts=NOON_ET + 2 * MINUTE)) == "DAILY_CAP"
    gate.on_equity(NOON_ET + 3 * MINUTE, Decimal(10_000))  # recovering does not lift it
    assert _code(gate, _check(ts=NOON_ET + 3 * MINUTE)) == "DAILY_CAP"
    assert gate.triggers["daily_cap"] == 1
    tomorrow = NOON_ET + 24 * 60 * MINUTE
    gate.on_equity(tomorrow, Decimal(10_000))
    assert _code(gate, _check(ts=tomorrow)) is None


def test_daily_cap_usd_when_reached_then_denied(tmp_path: Path) -> None:
    gate = _gate(tmp_path, daily_loss_cap_usd=250.0)
    gate.on_equity(NOON_ET, Decimal(10_000))
    gate.on_equity(NOON_ET + MINUTE, Decimal(9_751))
    assert _code(gate, _check(ts=NOON_ET + MINUTE)) is None
    gate.on_equity(NOON_ET + 2 * MINUTE, Decimal(9_750))
    assert _code(gate, _check(ts=NOON_ET + 2 * MINUTE)) == "DAILY_CAP"


def test_loss_streak_when_max_losses_in_a_row_then_cooldown(tmp_path: Path) -> None:
    gate = _gate(tmp_path, loss_streak_max=3, session_cooldown_minutes=30)
    gate.on_trade_closed(Decimal(-1), NOON_ET)
    gate.on_trade_closed(Decimal(-1), NOON_ET)
    gate.on_trade_closed(Decimal(5), NOON_ET)  # a win resets the streak
    gate.on_trade_closed(Decimal(-1), NOON_ET)
    gate.on_trade_closed(Decimal(-1), NOON_ET)
    assert _code(gate, _check(ts=NOON_ET)) is None
    gate.on_trade_closed(Decimal(-1), NOON_ET)
    assert _code(gate, _check(ts=NOON_ET + 29 * MINUTE)) == "LOSS_STREAK"
    assert _code(gate, _check(ts=NOON_ET + 30 * MINUTE)) is None
    assert gate.triggers["streak_halt"] == 1


def test_trade_pacing_when_too_many_or_too_soon_then_denied(tmp_path: Path) -> None:
    gate = _gate(tmp_path, max_daily_trades=2, min_time_between_trades_s=60)
    gate.on_equity(NOON_ET, Decimal(10_000))
    first = _check(ts=NOON_ET)
    assert _code(gate, first) is None
    gate.on_order_sent(first)
    assert _code(gate, _check(ts=NOON_ET + MINUTE - 1)) == "MIN_TIME_BETWEEN_TRADES"
    assert _code(gate, _check(symbol="QQQ", ts=NOON_ET + 1)) is None  # another symbol
    second = _check(ts=NOON_ET + MINUTE)
    assert _code(gate, second) is None
    gate.on_order_sent(second)
    assert _code(gate, _check(symbol="QQQ", ts=NOON_ET + 5 * MINUTE)) == "MAX_DAILY_TRADES"


def test_warmup_when_session_just_started_then_new_risk_waits(tmp_path: Path) -> None:
    gate = _gate(tmp_path, warmup_s=300)
    gate.on_equity(NOON_ET, Decimal(10_000))
    assert _code(gate, _check(ts=NOON_ET + 299_000_000_000)) == "WARMUP"
    assert gate.triggers["warmup_drop:SPY"] == 1
    assert _code(gate, _check(ts=NOON_ET + 300_000_000_000)) is None


def test_correlation_when_new_risk_tracks_a_holding_then_denied(tmp_path: Path) -> None:
    rho = {("QQQ", "SPY"): 0.93, ("GLD", "SPY"): 0.1}
    gate = RiskGate(
        UNLIMITED_RISK.model_copy(update={"max_correlation": 0.8}),
        KillSwitch(tmp_path / "KS"),
        correlation=lambda a, b, ts: rho.get((a, b)),
    )
    held = {"SPY": "10"}
    assert _code(gate, _check(symbol="QQQ", positions=held, marks={"SPY": "100"})) == "CORRELATION"
    assert _code(gate, _check(symbol="GLD", positions=held, marks={"SPY": "100"})) is None
    hedge = _check("5", Side.SELL, symbol="QQQ", positions=held, marks={"SPY": "100"})
    assert _code(gate, hedge) is None  # the opposite way reduces the common risk


def test_state_when_restarted_then_daily_cap_and_cooldown_survive(tmp_path: Path) -> None:
    gate = _gate(tmp_path, store=True, daily_loss_limit=0.05, loss_streak_max=1)
    gate.on_equity(NOON_ET, Decimal(10_000))
    gate.on_equity(NOON_ET + MINUTE, Decimal(9_000))
    gate.on_trade_closed(Decimal(-10), NOON_ET + MINUTE)

    restarted = _gate(tmp_path, store=True, daily_loss_limit=0.05, loss_streak_max=1)
    assert restarted.state.daily_halt
    assert restarted.state.cooldown_until_ns > NOON_ET
    restarted.on_equity(NOON_ET + 2 * MINUTE, Decimal(10_000))  # same day: still halted
    assert _code(restarted, _check(ts=NOON_ET + 2 * MINUTE)) == "DAILY_CAP"


def test_state_file_when_corrupt_then_refused_not_reset(tmp_path: Path) -> None:
    from tradeloop.core.errors import DataError

    (tmp_path / "risk_state.json").write_text("{not json")
    with pytest.raises(DataError, match="daily-loss halt"):
        _gate(tmp_path, store=True)


def test_kill_switch_when_it_cannot_be_checked_then_counts_as_engaged(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "var"
    not_a_directory.write_text("a file where the runtime folder should be")
    switch = KillSwitch(not_a_directory / "KILL_SWITCH")  # stat fails: ENOTDIR, not ENOENT
    assert switch.is_engaged()
    assert not KillSwitch(tmp_path / "KILL_SWITCH").is_engaged()


def test_position_fraction_cap_when_limits_set_then_smallest_share() -> None:
    assert RiskConfig().position_fraction_cap(1) == 0.2
    assert RiskConfig().position_fraction_cap(4) == 0.125  # heat 0.5 over 4 positions
    assert UNLIMITED_RISK.position_fraction_cap(3) == 1.0


def test_near_liquidation_when_leverage_moderate_then_passes_and_short_side_named(
    tmp_path: Path,
) -> None:
    gate = _gate(tmp_path, margin_leverage=5.0, assumed_stop_bps=50.0, max_gross_leverage=10.0)
    assert _code(gate, _check("10")) is None  # 5x: liquidation ~20 % away
    tight = _gate(tmp_path, margin_leverage=100.0, max_gross_leverage=10.0)
    reason = tight.denial(_check("10", Side.SELL))
    assert reason is not None
    assert "near_liquidation_short" in reason
    assert tight.triggers["near_liquidation_short"] == 1


def test_venue_failures_when_in_a_row_then_halted_until_resumed(tmp_path: Path) -> None:
    from tradeloop.execution.engine import TradingEngine
    from tradeloop.execution.portfolio import Portfolio
    from tradeloop.testing.orders import ScriptedGateway

    class Venue(ScriptedGateway):
        def cancel(self, client_order_id: str) -> None:
            return None

        def open_orders(self) -> list:  # type: ignore[type-arg]
            return []

        def fills_for(self, client_order_id: str) -> list:  # type: ignore[type-arg]
            return []

        def on_bar(self, bar: object) -> list:  # type: ignore[type-arg]
            return []

    venue = Venue()
    engine = TradingEngine(
        venue=venue,  # type: ignore[arg-type]
        portfolio=Portfolio(cash=Decimal(10_000)),
        risk=UNLIMITED_RISK.model_copy(update={"max_venue_failures": 2}),
        kill_switch=KillSwitch(tmp_path / "KS"),
    )

    def send(n: int, outcome: str) -> bool:
        venue.next_outcome = outcome
        order = SubmitOrder(f"o{n}", "SPY", Side.BUY, Decimal(1), ts_init=n)
        return engine.submit(order, Decimal(10), Decimal(10_000), n)

    send(1, "timeout")
    send(2, "ok")  # an answer resets the count
    send(3, "timeout")
    assert engine.gate.state.trading_state is TradingState.ACTIVE
    send(4, "timeout")
    assert engine.gate.state.trading_state is TradingState.HALTED
    assert engine.gate.triggers["venue_failure_halt"] == 1
    assert not send(5, "ok")
    assert engine.rejected[-1].reason.startswith("HALTED")


def test_gate_when_daily_loss_rule_on_then_it_watches_quiet_bars_too(tmp_path: Path) -> None:
    gate = _gate(tmp_path, daily_loss_limit=0.05)
    assert gate.watches_every_bar
    assert not _gate(tmp_path).watches_every_bar


def test_rolling_correlation_when_series_move_together_then_high_else_low() -> None:
    import numpy as np

    from tradeloop.risk.correlation import RollingCorrelation

    rng = np.random.default_rng(1)
    tracker = RollingCorrelation(window=50)
    common = rng.normal(0, 0.01, 80)
    a = 100 * np.cumprod(1 + common)
    b = 50 * np.cumprod(1 + common + rng.normal(0, 0.001, 80))
    c = 20 * np.cumprod(1 + rng.normal(0, 0.01, 80))
    for i in range(80):
        for symbol, series in (("A", a), ("B", b), ("C", c)):
            tracker.observe(symbol, i, float(series[i]))
    assert tracker("A", "B", 79) > 0.95
    assert abs(tracker("A", "C", 79)) < 0.4  # type: ignore[arg-type]
    assert tracker("A", "B", 10) is None  # too little shared history by then
    expected = np.corrcoef(np.diff(a[-51:]) / a[-51:-1], np.diff(b[-51:]) / b[-51:-1])[0, 1]
    assert tracker("A", "B", 79) == pytest.approx(expected)


def test_correlation_limit_when_engine_sees_the_closes_then_denies_a_twin(tmp_path: Path) -> None:
    gate = _gate(tmp_path, max_correlation=0.9, correlation_window=5)
    assert gate.watches_every_bar
    for i, price in enumerate([100, 101, 99, 102, 104, 103, 105]):
        gate.observe_close("SPY", i, float(price))
        gate.observe_close("VOO", i, float(price) * 0.9)
    held = {"SPY": "10"}
    check = _check(symbol="VOO", positions=held, marks={"SPY": "105"}, ts=6)
    assert _code(gate, check) == "CORRELATION"


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        ("20", "100", None),  # 20 % of equity: at the limit
        ("20", "124", None),  # 24.8 %: inside the 25 % tolerance
        ("20", "130", "-4"),  # 26 %: back to 2,000 / 130 -> keep 16 (whole shares, rounded up)
        ("-20", "130", "4"),  # a short grown the same way is bought back
        ("0.05", "60000", "-0.01666666"),  # 30 %: fractional units keep 8 places
    ],
)
def test_position_breach_when_grown_past_limit_then_cut_back_to_it(
    tmp_path: Path, quantity: str, price: str, expected: str | None
) -> None:
    gate = _gate(tmp_path, max_position_size=0.2, position_breach_tolerance=0.25)
    trim = gate.breach_reduction("SPY", Decimal(quantity), Decimal(price), Decimal(10_000))
    assert trim == (None if expected is None else Decimal(expected))
    assert gate.counts["position_breach_reduce"] == (0 if expected is None else 1)
    off = _gate(tmp_path, max_position_size=0.2, position_breach_tolerance=None)
    assert off.breach_reduction("SPY", Decimal(quantity), Decimal(price), Decimal(10_000)) is None


def test_position_breach_when_prices_run_then_engine_trims_through_the_order_path(
    tmp_path: Path,
) -> None:
    import polars as pl

    from tradeloop.execution.backtest import run_backtest
    from tradeloop.execution.bar_view import BarView
    from tradeloop.execution.config import ExecutionConfig
    from tradeloop.execution.engine import simulated_engine
    from tradeloop.execution.strategy import StrategyContext, make_order

    class BuyOnce:
        def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
            if context.position or bar.ts != 0:
                return []
            return [make_order(context, bar, Side.BUY, Decimal(20), "entry")]

    closes = [100.0, 100.0, 110.0, 120.0, 135.0, 150.0, 150.0, 150.0]
    bars = pl.DataFrame(
        {
            "ts": list(range(len(closes))),
            "symbol": ["SPY"] * len(closes),
            **dict.fromkeys(("open", "high", "low", "close"), closes),
            "volume": [1e6] * len(closes),
        }
    )

    def run(tolerance: float | None) -> Any:
        risk = UNLIMITED_RISK.model_copy(
            update={"max_position_size": 0.2, "position_breach_tolerance": tolerance}
        )
        config = ExecutionConfig(initial_cash_usd=10_000, commission_rate=0.0)
        engine = simulated_engine(config, risk, KillSwitch(tmp_path / "KS"))
        return run_backtest(bars, BuyOnce(), engine, run_id="breach"), engine

    held, _ = run(None)
    assert [f.quantity for f in held.fills] == [Decimal(20)]
    trimmed, engine = run(0.25)
    # bar 4 closes at 135: 20 x 135 = 2,700 of 10,700 equity = 25.2 % > 25 %: cut to 16
    # (16 x 135 = 2,160 >= 20 % of 10,700), filled at the next bar's open
    assert [(f.side, f.quantity) for f in trimmed.fills] == [
        (Side.BUY, Decimal(20)),
        (Side.SELL, Decimal(4)),
    ]
    assert engine.portfolio.quantity("SPY") == Decimal(16)
    assert engine.gate.counts["position_breach_reduce"] == 1


def test_rule_table_when_config_switches_rules_off_then_they_are_not_evaluated() -> None:
    from tradeloop.risk import rules

    plain = {row.rule.__name__ for row in rules.active_rules(UNLIMITED_RISK)}
    assert {"kill_switch", "halted", "order_notional", "buying_power"} <= plain
    assert not {"trading_hours", "correlation", "daily_trades", "near_liquidation"} & plain
    busy = UNLIMITED_RISK.model_copy(
        update={"trading_hours": ("10:00", "15:30"), "max_daily_trades": 3}
    )
    names = [row.rule.__name__ for row in rules.active_rules(busy)]
    assert names.index("kill_switch") == 0  # checked first, for every order
    assert names.index("trading_hours") < names.index("daily_trades") < names.index("buying_power")


@settings(max_examples=60, deadline=None)
# noon on New York's 23-hour spring-forward day, then 00:30 the next day
@example(zone="America/New_York", stamps=[1_615_737_600 * 10**9, 1_615_782_600 * 10**9])
@given(
    zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]),
    stamps=st.lists(
        st.one_of(
            st.integers(1_600_000_000 * 10**9, 1_700_000_000 * 10**9),
            # within a second of a local midnight or a DST change, where days are decided
            st.sampled_from([1_615_705_200, 1_636_264_800, 1_648_342_800, 1_667_091_600]).map(
                lambda s: s * 10**9 - 1
            ),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_trading_day_when_asked_per_bar_or_in_bulk_then_the_calendar_day_in_its_zone(
    zone: str, stamps: list[int]
) -> None:
    """The day the daily loss limit rolls on: the cached per-bar answer and the bulk one
    used for skipped bars both equal the calendar date in the trading zone."""
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    import numpy as np

    gate = RiskGate(
        UNLIMITED_RISK.model_copy(update={"trading_timezone": zone}),
        KillSwitch(Path("/nonexistent/KILL_SWITCH")),
    )
    ordered = sorted(stamps)
    numbers = gate.local_day_numbers(np.array(ordered, dtype=np.int64))
    for ts, number in zip(ordered, numbers.tolist(), strict=True):
        day = datetime.fromtimestamp(ts // 10**9, UTC).astimezone(ZoneInfo(zone)).date()
        gate.on_equity(ts, Decimal(1000))
        assert gate.state.day == day.isoformat()
        assert number == day.toordinal() - date(1970, 1, 1).toordinal()


@settings(max_examples=80, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(1, 6 * 3600),  # seconds to the next bar: several per day, gaps
            st.one_of(
                st.decimals(min_value=90, max_value=110, places=2),
                st.just(Decimal("95.00")),  # exactly at the 5 % limit of a 100 start
            ),
        ),
        min_size=1,
        max_size=60,
    ),
    cap=st.one_of(st.none(), st.sampled_from([2.5, 5.0])),
)
def test_equity_span_when_shown_in_bulk_then_same_state_as_bar_by_bar(
    steps: list[tuple[int, Decimal]], cap: float | None
) -> None:
    """The bulk path a sparse backtest takes for skipped bars trips the daily loss limit on
    the same bar, with the same day start, as showing the bars one by one (ties at the
    limit decided on the exact value)."""
    import numpy as np

    limits = {"daily_loss_limit": 0.05, "daily_loss_cap_usd": cap}
    one_by_one = _gate(Path("/nonexistent"), **limits)
    in_bulk = _gate(Path("/nonexistent"), **limits)
    ts, equity = [], []
    now = NOON_ET
    for gap, value in steps:
        now += gap * 1_000_000_000
        ts.append(now)
        equity.append(value)
    for stamp, value in zip(ts, equity, strict=True):
        one_by_one.on_equity(stamp, value)
    stamps = np.array(ts, dtype=np.int64)
    in_bulk.on_equity_span(
        stamps,
        in_bulk.local_day_numbers(stamps),
        np.array([float(v) for v in equity]),
        lambda k: equity[k],
    )
    assert in_bulk.state == one_by_one.state
    assert in_bulk.triggers == one_by_one.triggers
    assert in_bulk.session_start_ns == one_by_one.session_start_ns
