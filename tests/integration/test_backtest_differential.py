"""Numbers must be true: our engine and backtesting.py agree on an SMA crossover."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from tradeloop.adapters.bundled import BundledProvider
from tradeloop.execution.backtest import BacktestResult, run_backtest
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.strategy import SmaCrossStrategy
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.orders import UNLIMITED_RISK

FAST, SLOW, COMMISSION, CASH = 10, 30, 0.001, 100_000.0
UNITS = {"GOOG": 20, "^GSPC": 20, "EURUSD=X": 50_000}


def _sma(values: np.ndarray, window: int) -> np.ndarray:
    return pd.Series(values).rolling(window).mean().to_numpy()


class _PeerSmaCross(Strategy):
    units = 1

    def init(self) -> None:
        self.fast = self.I(_sma, self.data.Close, FAST)
        self.slow = self.I(_sma, self.data.Close, SLOW)

    def next(self) -> None:
        if crossover(self.fast, self.slow) and not self.position:
            self.buy(size=self.units)
        elif crossover(self.slow, self.fast) and self.position.is_long:
            self.position.close()


def _peer_run(bars: pl.DataFrame, units: int, cash: float = CASH) -> tuple[pd.DataFrame, float]:
    frame = pd.DataFrame(
        {
            "Open": bars["open"].to_numpy(),
            "High": bars["high"].to_numpy(),
            "Low": bars["low"].to_numpy(),
            "Close": bars["close"].to_numpy(),
            "Volume": bars["volume"].to_numpy(),
        },
        index=pd.to_datetime(bars["ts"].to_numpy(), unit="ns"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest = Backtest(frame, _PeerSmaCross, cash=cash, commission=COMMISSION)
        stats = backtest.run(units=units)
    return stats["_trades"], float(stats["Equity Final [$]"])


def _our_run(
    bars: pl.DataFrame, units: int, tmp_path: Path, cash: float = CASH
) -> tuple[list, Decimal]:
    result = _our_result(bars, units, tmp_path, cash)
    return result.trades, result.final_equity


def _our_result(bars: pl.DataFrame, units: int, tmp_path: Path, cash: float) -> BacktestResult:
    with_sma = SmaCrossStrategy.with_indicators(bars, FAST, SLOW)
    config = ExecutionConfig(initial_cash_usd=cash, commission_rate=COMMISSION)
    engine = simulated_engine(config, UNLIMITED_RISK, KillSwitch(tmp_path / "KILL_SWITCH"))
    return run_backtest(
        with_sma,
        SmaCrossStrategy(Decimal(units)),
        engine,
        run_id="differential",
        extra_columns=SmaCrossStrategy.COLUMNS,
    )


@pytest.mark.parametrize("symbol", ["GOOG", "^GSPC", "EURUSD=X"])
def test_sma_cross_when_run_by_both_engines_then_same_trades_and_equity(
    symbol: str, tmp_path: Path
) -> None:
    bars = BundledProvider().history(symbol)
    peer_trades, peer_equity = _peer_run(bars, UNITS[symbol])
    our_trades, our_equity = _our_run(bars, UNITS[symbol], tmp_path)

    assert len(our_trades) == len(peer_trades) > 10
    for ours, (_, peer) in zip(our_trades, peer_trades.iterrows(), strict=True):
        assert ours.ts_entry == pd.Timestamp(peer["EntryTime"]).value
        assert ours.ts_exit == pd.Timestamp(peer["ExitTime"]).value
        assert float(ours.entry_price) == pytest.approx(peer["EntryPrice"], rel=1e-12)
        assert float(ours.exit_price) == pytest.approx(peer["ExitPrice"], rel=1e-12)
        assert float(ours.pnl) == pytest.approx(peer["PnL"], rel=1e-9, abs=1e-9)
    assert float(our_equity) == pytest.approx(peer_equity, rel=1e-9)


@pytest.mark.parametrize("symbol", ["GOOG", "^GSPC", "EURUSD=X"])
@pytest.mark.parametrize(("slippage_bps", "leverage"), [(0.0, 1.0), (7.5, 0.5)])
def test_fast_path_when_same_inputs_then_same_trades_as_event_engine(
    symbol: str, slippage_bps: float, leverage: float, tmp_path: Path
) -> None:
    from tradeloop.execution.fast_path import FastCosts, sma_cross, sma_cross_sweep

    bars = BundledProvider().history(symbol)
    units = UNITS[symbol]
    config = ExecutionConfig(
        initial_cash_usd=CASH, commission_rate=COMMISSION, slippage_bps=slippage_bps
    )
    # Low leverage: some entries are denied, in both engines.
    risk = UNLIMITED_RISK.model_copy(update={"max_gross_leverage": leverage})
    engine = simulated_engine(config, risk, KillSwitch(tmp_path / "KILL_SWITCH"))
    result = run_backtest(
        SmaCrossStrategy.with_indicators(bars, FAST, SLOW),
        SmaCrossStrategy(Decimal(units)),
        engine,
        run_id="fast-vs-event",
        extra_columns=SmaCrossStrategy.COLUMNS,
    )
    costs = FastCosts(
        commission_rate=COMMISSION,
        slippage_bps=slippage_bps,
        initial_cash=CASH,
        max_gross_leverage=leverage,
    )
    opens, closes = bars["open"].to_numpy(), bars["close"].to_numpy()
    fast = sma_cross(opens, closes, FAST, SLOW, units, costs)
    ts = bars["ts"].to_numpy()
    assert len(result.trades) == len(fast.pnl)
    assert len(result.trades) > 5 or leverage < 1  # tight leverage may deny every entry
    assert [int(ts[i]) for i in fast.entry_index] == [t.ts_entry for t in result.trades]
    assert [int(ts[i]) for i in fast.exit_index] == [t.ts_exit for t in result.trades]
    np.testing.assert_allclose(
        fast.exit_price, [float(t.exit_price) for t in result.trades], rtol=1e-12
    )
    np.testing.assert_allclose(
        fast.pnl, [float(t.pnl) for t in result.trades], rtol=1e-9, atol=1e-6
    )
    assert fast.final_equity == pytest.approx(float(result.final_equity), rel=1e-9)
    np.testing.assert_allclose(fast.equity, result.equity["equity"].to_numpy(), rtol=1e-9)
    finals, counts = sma_cross_sweep(
        opens, closes, np.array([FAST, 5]), np.array([SLOW, 50]), units, costs
    )
    assert finals[0] == pytest.approx(fast.final_equity, rel=1e-12)
    assert counts[0] == len(fast.pnl)


def _utc(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()  # backtrader's dates are naive UTC


def _backtrader_run(
    bars: pl.DataFrame, units: int, cash: float = CASH
) -> tuple[list[dict[str, float]], float]:
    import backtrader as bt

    class SmaCross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            fast = bt.indicators.SMA(self.data.close, period=FAST)
            slow = bt.indicators.SMA(self.data.close, period=SLOW)
            self.cross = bt.indicators.CrossOver(fast, slow)
            self.closed: list[dict[str, float]] = []

        def next(self) -> None:
            if self.cross[0] > 0 and not self.position:
                self.buy(size=units)
            elif self.cross[0] < 0 and self.position:
                self.close()

        def notify_trade(self, trade: bt.Trade) -> None:
            if trade.isclosed:
                self.closed.append(
                    {
                        "entry": _utc(bt.num2date(trade.dtopen)),
                        "exit": _utc(bt.num2date(trade.dtclose)),
                        "pnl": trade.pnlcomm,
                    }
                )

    frame = pd.DataFrame(
        {
            "open": bars["open"].to_numpy(),
            "high": bars["high"].to_numpy(),
            "low": bars["low"].to_numpy(),
            "close": bars["close"].to_numpy(),
            "volume": bars["volume"].to_numpy(),
        },
        index=pd.to_datetime(bars["ts"].to_numpy(), unit="ns"),
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=COMMISSION)
    (strategy,) = cerebro.run()
    return strategy.closed, float(cerebro.broker.getvalue())


@pytest.mark.parametrize("symbol", ["GOOG", "^GSPC", "EURUSD=X"])
def test_sma_cross_when_run_by_backtrader_too_then_same_trades_and_equity(
    symbol: str, tmp_path: Path
) -> None:
    bars = BundledProvider().history(symbol)
    peer_trades, peer_equity = _backtrader_run(bars, UNITS[symbol])
    our_trades, our_equity = _our_run(bars, UNITS[symbol], tmp_path)
    assert len(our_trades) == len(peer_trades) > 10
    for ours, peer in zip(our_trades, peer_trades, strict=True):
        assert ours.ts_entry == int(peer["entry"]) * 1_000_000_000
        assert ours.ts_exit == int(peer["exit"]) * 1_000_000_000
        assert float(ours.pnl) == pytest.approx(peer["pnl"], rel=1e-9, abs=1e-6)
    assert float(our_equity) == pytest.approx(peer_equity, rel=1e-9)


def _gapping_bars(n: int = 1500, seed: int = 5) -> pl.DataFrame:
    """A mean-reverting price whose opens gap 4 % above the previous close half the time."""
    rng = np.random.default_rng(seed)
    walk = np.zeros(n)
    for i in range(1, n):
        walk[i] = 0.97 * walk[i - 1] + rng.normal(0, 1.0)
    close = np.round(100 + 2 * walk, 2)
    gaps = np.where(rng.random(n - 1) < 0.5, 1.04, 0.99)
    opens = np.round(np.r_[close[0], close[:-1] * gaps], 2)
    return pl.DataFrame(
        {
            "symbol": "GAP",
            "ts": (np.arange(n) + 12_000) * 86_400 * 10**9,
            "open": opens,
            "high": np.maximum(opens, close) + 0.5,
            "low": np.minimum(opens, close) - 0.5,
            "close": close,
            "volume": 1e6,
        }
    )


def test_sma_cross_when_open_gaps_beyond_cash_then_canceled_like_both_peers(
    tmp_path: Path,
) -> None:
    # 97 units fit the cash at the decision close; a 4 % gap at the next open does not
    # always: the entry is canceled at fill time (never filled on credit), as in both peers.
    from tradeloop.execution.fast_path import FastCosts, sma_cross

    bars, units, cash = _gapping_bars(), 97, 10_000.0
    peer_trades, peer_equity = _peer_run(bars, units, cash)
    bt_trades, bt_equity = _backtrader_run(bars, units, cash)
    ours = _our_result(bars, units, tmp_path, cash)
    canceled = [r for r in ours.rejected if r.reason.startswith("insufficient buying power")]
    assert canceled  # the case this test is about happened
    assert len(ours.trades) == len(peer_trades) == len(bt_trades) > 10
    for mine, (_, peer) in zip(ours.trades, peer_trades.iterrows(), strict=True):
        assert mine.ts_entry == pd.Timestamp(peer["EntryTime"]).value
        assert float(mine.pnl) == pytest.approx(peer["PnL"], rel=1e-9, abs=1e-9)
    assert float(ours.final_equity) == pytest.approx(peer_equity, rel=1e-9)
    assert float(ours.final_equity) == pytest.approx(bt_equity, rel=1e-9)
    fast = sma_cross(
        bars["open"].to_numpy(),
        bars["close"].to_numpy(),
        FAST,
        SLOW,
        units,
        FastCosts(commission_rate=COMMISSION, initial_cash=cash),
    )
    assert len(fast.pnl) == len(ours.trades)
    assert fast.final_equity == pytest.approx(float(ours.final_equity), rel=1e-9)
