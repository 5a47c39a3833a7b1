"""Backtest speed: tradeloop's event engine vs backtesting.py on the same SMA crossover.

Both run the bundled ^GSPC daily history (5,031 bars) with next-open fills and the same
commission; the trades are identical (see tests/integration/test_backtest_differential.py).
Prints the median of several runs for each and the ratio.

    .venv/bin/python benchmarks/bench_backtest_engine.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
import polars as pl
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from tradeloop.adapters.bundled import BundledProvider
from tradeloop.execution.backtest import run_backtest
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.strategy import SmaCrossStrategy
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.orders import UNLIMITED_RISK

FAST, SLOW, UNITS, COMMISSION, CASH = 10, 30, 20, 0.001, 100_000.0


def _sma(values: pd.Series, window: int) -> pd.Series:
    return pd.Series(values).rolling(window).mean()


class PeerSmaCross(Strategy):
    def init(self) -> None:
        self.fast = self.I(_sma, self.data.Close, FAST)
        self.slow = self.I(_sma, self.data.Close, SLOW)

    def next(self) -> None:
        if crossover(self.fast, self.slow) and not self.position:
            self.buy(size=UNITS)
        elif crossover(self.slow, self.fast) and self.position.is_long:
            self.position.close()


def run_ours(bars: pl.DataFrame, kill_switch_dir: Path) -> float:
    frame = SmaCrossStrategy.with_indicators(bars, FAST, SLOW)
    config = ExecutionConfig(initial_cash_usd=CASH, commission_rate=COMMISSION)
    engine = simulated_engine(config, UNLIMITED_RISK, KillSwitch(kill_switch_dir / "KILL_SWITCH"))
    result = run_backtest(
        frame,
        SmaCrossStrategy(Decimal(UNITS)),
        engine,
        run_id="bench",
        extra_columns=SmaCrossStrategy.COLUMNS,
    )
    return float(result.final_equity)


def run_peer(frame: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(frame, PeerSmaCross, cash=CASH, commission=COMMISSION).run()
    return float(stats["Equity Final [$]"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bars = BundledProvider().history("^GSPC")
    frame = pd.DataFrame(
        {
            name.capitalize(): bars[name].to_numpy()
            for name in ("open", "high", "low", "close", "volume")
        },
        index=pd.to_datetime(bars["ts"].to_numpy(), unit="ns"),
    )
    ours, peer = [], []
    with TemporaryDirectory() as tmp:
        equity_ours, equity_peer = run_ours(bars, Path(tmp)), run_peer(frame)  # warm-up
        for _ in range(args.runs):
            start = time.perf_counter()
            run_ours(bars, Path(tmp))
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            run_peer(frame)
            peer.append(time.perf_counter() - start)
    median_ours, median_peer = statistics.median(ours), statistics.median(peer)
    print(f"bars: {bars.height}, runs: {args.runs}")
    print(f"final equity: tradeloop {equity_ours:.6f}  backtesting.py {equity_peer:.6f}")
    print(f"tradeloop      median {median_ours * 1000:8.1f} ms")
    print(f"backtesting.py median {median_peer * 1000:8.1f} ms")
    print(f"ratio (backtesting.py / tradeloop): {median_peer / median_ours:.2f}x")


if __name__ == "__main__":
    main()
