"""SMA crossover on real GOOG bars (tiled): tradeloop vs backtrader, backtesting.py, vectorbt.

Event-driven engines (bars/s, same trades and final equity): tradeloop's engine (risk
checks, order manager, Decimal ledger), backtesting.py, backtrader. Fast path (bars/s on
1M bars, and parameter-bars/s on a ~1,000-parameter sweep): tradeloop's Numba fast path,
vectorbt, and a minimal hand-written Numba loop (no risk checks: the speed ceiling).
All fill at the next bar's open with 0.1 % commission, 20 units, 100,000 cash.

    .venv/bin/pip install 'vectorbt>=1.2,<1.3'   # the peer not in our dependencies
    .venv/bin/python benchmarks/bench_engine_peers.py [--event-bars 100000] [--runs 3] [--rss]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np
import pandas as pd
import polars as pl

from tradeloop.adapters.bundled import BundledProvider
from tradeloop.execution.backtest import run_backtest
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.fast_path import FastCosts, sma_cross, sma_cross_sweep
from tradeloop.execution.strategy import SmaCrossStrategy
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.kill_switch import KillSwitch

FAST, SLOW, UNITS, CASH, FEE = 10, 30, 20, 100_000.0, 0.001


def tiled(n: int) -> pl.DataFrame:
    """GOOG's real daily bars repeated to ``n`` rows: forward, then time-reversed (open and
    close swapped), and so on, so the path is continuous and stays in range; one bar per
    minute from 2000-01-01 so the timestamps fit any engine."""
    base = (
        BundledProvider()
        .history("GOOG")
        .sort("ts")
        .select("open", "high", "low", "close", "volume")
    )
    backward = base.reverse().rename({"open": "close", "close": "open"}).select(base.columns)
    copies = [base if k % 2 == 0 else backward for k in range(n // base.height + 1)]
    bars = pl.concat(copies).head(n)
    start = 946_684_800_000_000_000
    return bars.with_columns(
        pl.Series("ts", start + np.arange(n, dtype=np.int64) * 60_000_000_000),
        pl.lit("GOOG").alias("symbol"),
    )


# Every rule evaluated on every order; the ones that depend on the equity path (daily
# loss, loss streak, trimming a position grown past its limit) off, since the peers have
# none and must make the same trades.
PEER_RULES = RiskConfig(
    max_position_notional_usd=1e15,
    max_order_notional_usd=1e15,
    max_gross_leverage=10,
    daily_loss_limit=None,
    loss_streak_max=None,
    position_breach_tolerance=None,
)


def ours_event(bars: pl.DataFrame, tmp: Path, risk: RiskConfig = PEER_RULES) -> float:
    """``risk``: the peers' rule set, or ``RiskConfig()`` (what a user runs by default:
    the daily loss limit, the loss streak and the breach trim watch every bar too)."""
    config = ExecutionConfig(initial_cash_usd=CASH, commission_rate=FEE)
    engine = simulated_engine(config, risk, KillSwitch(tmp / "KILL_SWITCH"))
    result = run_backtest(
        SmaCrossStrategy.with_indicators(bars, FAST, SLOW),
        SmaCrossStrategy(Decimal(UNITS)),
        engine,
        run_id="bench",
        extra_columns=SmaCrossStrategy.COLUMNS,
    )
    return float(result.final_equity)


def _frame(bars: pl.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Open": bars["open"].to_numpy(),
            "High": bars["high"].to_numpy(),
            "Low": bars["low"].to_numpy(),
            "Close": bars["close"].to_numpy(),
            "Volume": bars["volume"].to_numpy(),
        },
        index=pd.to_datetime(bars["ts"].to_numpy(), unit="ns"),
    )


def backtesting_py(bars: pl.DataFrame) -> float:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values: Any, window: int) -> Any:
        return pd.Series(values).rolling(window).mean().to_numpy()

    class Cross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow) and not self.position:
                self.buy(size=UNITS)
            elif crossover(self.slow, self.fast) and self.position.is_long:
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(_frame(bars), Cross, cash=1e12, commission=FEE).run()
    return float(stats["Equity Final [$]"]) - 1e12 + CASH  # huge cash: never margin-limited


def backtrader(bars: pl.DataFrame) -> float:
    import backtrader as bt

    class Cross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = bt.indicators.CrossOver(
                bt.indicators.SMA(self.data.close, period=FAST),
                bt.indicators.SMA(self.data.close, period=SLOW),
            )

        def next(self) -> None:
            if self.cross[0] > 0 and not self.position:
                self.buy(size=UNITS)
            elif self.cross[0] < 0 and self.position:
                self.close()

    frame = _frame(bars).rename(columns=str.lower)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(Cross)
    cerebro.broker.setcash(1e12)
    cerebro.broker.setcommission(commission=FEE)
    cerebro.run()
    return float(cerebro.broker.getvalue()) - 1e12 + CASH


@nb.njit(cache=True)
def handwritten(open_, close, fast, slow):  # type: ignore[no-untyped-def]
    """The minimal loop: crossover, next-open fills, commission; nothing else."""
    cash, pos, pending = CASH, 0.0, 0.0
    for i in range(close.size):
        if pending != 0.0:
            price = open_[i]
            cash -= pending * price + abs(pending) * price * FEE
            pos += pending
            pending = 0.0
        if i > 0 and not (np.isnan(slow[i - 1])):
            if fast[i - 1] < slow[i - 1] and fast[i] > slow[i] and pos == 0.0:
                pending = UNITS
            elif slow[i - 1] < fast[i - 1] and slow[i] > fast[i] and pos > 0.0:
                pending = -pos
    return cash + pos * close[-1]


def vectorbt_single(bars: pl.DataFrame) -> float:
    import vectorbt as vbt

    close = pd.Series(bars["close"].to_numpy())
    opens = pd.Series(bars["open"].to_numpy())
    fast = vbt.MA.run(close, FAST)
    slow = vbt.MA.run(close, SLOW)
    entries = fast.ma_crossed_above(slow).shift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).shift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        close, entries, exits, price=opens, size=UNITS, fees=FEE, init_cash=CASH
    )
    return float(portfolio.final_value())


def vectorbt_sweep(bars: pl.DataFrame, windows: list[int]) -> np.ndarray:
    import vectorbt as vbt

    close = pd.Series(bars["close"].to_numpy())
    opens = pd.Series(bars["open"].to_numpy())
    fast, slow = vbt.MA.run_combs(close, window=windows, r=2, short_names=["fast", "slow"])
    entries = fast.ma_crossed_above(slow).shift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).shift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        close, entries, exits, price=opens, size=UNITS, fees=FEE, init_cash=CASH
    )
    return np.asarray(portfolio.final_value())


def timed(runs: int, action: Any) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def rss_increment_mb(name: str, bars: int) -> float:
    """Peak resident memory one engine run adds, in MB: the run in a fresh interpreter
    (``--rss-child``), its peak RSS minus its RSS once the bars are loaded."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", name, "--event-bars", str(bars)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _rss_child(name: str, bars: int) -> None:
    import tempfile

    event = tiled(bars)
    # Reset the kernel's peak-RSS mark (VmHWM) so the peak of loading the bars is not
    # counted: what remains is the run's own peak over its starting RSS.
    Path("/proc/self/clear_refs").write_text("5")
    start = _status_kb("VmRSS")
    if name == "tradeloop":
        ours_event(event, Path(tempfile.mkdtemp()), RiskConfig())
    else:
        backtesting_py(event)
    print((_status_kb("VmHWM") - start) / 1024)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--event-bars", type=int, default=100_000)
    parser.add_argument("--fast-bars", type=int, default=1_000_000)
    parser.add_argument("--sweep-bars", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rss", action="store_true", help="also peak RSS per event engine")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        _rss_child(args.rss_child, args.event_bars)
        return
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    event = tiled(args.event_bars)
    print(f"event-driven engines, {event.height:,} bars (median of {args.runs}):")
    results = {}
    for name, action in (
        ("tradeloop", lambda: ours_event(event, tmp)),
        ("tradeloop default", lambda: ours_event(event, tmp, RiskConfig())),
        ("backtesting.py", lambda: backtesting_py(event)),
        ("backtrader", lambda: backtrader(event)),
    ):
        seconds, final = timed(args.runs if name != "backtrader" else 1, action)
        results[name] = (seconds, final)
        print(f"  {name:<17} {event.height / seconds:>12,.0f} bars/s   final equity {final:,.2f}")
    if args.rss:
        print("peak RSS added by one run (fresh interpreter, bars loaded first):")
        for name in ("tradeloop", "backtesting.py"):
            print(f"  {name:<17} {rss_increment_mb(name, event.height):>8,.0f} MB")
    for ours in ("tradeloop", "tradeloop default"):
        for peer in ("backtesting.py", "backtrader"):
            print(f"  {ours} vs {peer}: {results[peer][0] / results[ours][0]:.1f}x")

    big = tiled(args.fast_bars)
    o, c = big["open"].to_numpy(), big["close"].to_numpy()
    costs = FastCosts(
        commission_rate=FEE,
        initial_cash=CASH,
        max_position_notional=1e15,
        max_order_notional=1e15,
        max_gross_leverage=10,
    )
    sma_cross(o[:1000], c[:1000], FAST, SLOW, UNITS, costs)
    from tradeloop.execution.fast_path import rolling_mean

    fast_ma, slow_ma = rolling_mean(c, FAST), rolling_mean(c, SLOW)
    handwritten(o[:100], c[:100], fast_ma[:100], slow_ma[:100])
    vectorbt_single(big.head(1000))
    print(f"fast path, {big.height:,} bars (median of {args.runs}):")
    single = {
        "tradeloop fast path": timed(
            args.runs, lambda: sma_cross(o, c, FAST, SLOW, UNITS, costs).final_equity
        ),
        "vectorbt": timed(args.runs, lambda: vectorbt_single(big)),
        "hand-written Numba": timed(
            args.runs, lambda: handwritten(o, c, rolling_mean(c, FAST), rolling_mean(c, SLOW))
        ),
    }
    for name, (seconds, final) in single.items():
        print(f"  {name:<20} {big.height / seconds:>14,.0f} bars/s   final equity {final:,.2f}")

    sweep = tiled(args.sweep_bars)
    so, sc = sweep["open"].to_numpy(), sweep["close"].to_numpy()
    windows = list(range(5, 51))  # C(46, 2) = 1,035 (fast, slow) pairs
    pairs = np.array([(a, b) for i, a in enumerate(windows) for b in windows[i + 1 :]])
    sma_cross_sweep(so, sc, pairs[:2, 0], pairs[:2, 1], UNITS, costs)
    vectorbt_sweep(sweep.head(500), windows[:4])
    ours_sweep = timed(
        args.runs, lambda: sma_cross_sweep(so, sc, pairs[:, 0], pairs[:, 1], UNITS, costs)[0]
    )
    peer_sweep = timed(args.runs, lambda: vectorbt_sweep(sweep, windows))
    work = len(pairs) * sweep.height
    print(f"sweep, {len(pairs):,} parameter pairs x {sweep.height:,} bars:")
    print(f"  tradeloop fast path {work / ours_sweep[0]:>14,.0f} parameter-bars/s")
    print(f"  vectorbt            {work / peer_sweep[0]:>14,.0f} parameter-bars/s")
    print(
        f"  ratio: {peer_sweep[0] / ours_sweep[0]:.1f}x vectorbt; fast path single run is "
        f"{single['hand-written Numba'][0] / single['tradeloop fast path'][0]:.2f}x the "
        "hand-written loop's speed"
    )
    same = int(np.sum(np.abs(ours_sweep[1] - peer_sweep[1]) < 1e-6))
    print(
        f"  same final equity on {same} of {len(pairs)} pairs; the rest differ by SMA "
        "rounding at exact ties (|fast - slow| ~ 1e-12 flips a crossover)"
    )


if __name__ == "__main__":
    main()
