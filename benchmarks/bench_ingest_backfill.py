"""deep_backfill throughput: tradeloop's validated, audited, governed ingest vs naive peers.

500 synthetic symbols x 1,260 daily sessions (630k rows) into a fresh SQLite file, in one
run, three ways on the same pre-generated bars:

- **naive**: per symbol, a pandas quality score and ``DataFrame.to_sql`` (append), then a
  governance row - what a hand-written script does;
- **bare**: one ``executemany`` bulk load of the bars, no validation, audit or governance
  (about the practical SQLite limit);
- **tradeloop**: ``Ingestor.run`` in deep_backfill mode - routing, validation, quality
  against the NYSE calendar, governance, audit, one transaction per symbol.

With ``--pg URL`` tradeloop also runs against PostgreSQL. Prints medians and ratios.

    .venv/bin/python benchmarks/bench_ingest_backfill.py [--symbols 500] [--runs 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from sqlalchemy import text

from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.time import NS_PER_DAY, parse_ns
from tradeloop.data.calendars import session_window_start
from tradeloop.data.config import IngestConfig, QualityConfig
from tradeloop.data.ingest import IngestMode, Ingestor, IngestPlan, fetch_symbol
from tradeloop.data.live_guard import LiveGuard
from tradeloop.data.ports import BarRequest
from tradeloop.data.universe import UniverseEntry
from tradeloop.domain.asset_class import AssetClass
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.ingest_store import SqlIngestStore
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.tables import metadata
from tradeloop.testing import FakeProvider

AS_OF = parse_ns("2024-06-28")


def generate(symbols: int) -> pl.DataFrame:
    provider = SyntheticProvider(seed=11)
    start = session_window_start(AssetClass.STOCKS, 1260, AS_OF)
    frames = [
        provider.fetch_bars(BarRequest(f"S{n:04d}", start, AS_OF + NS_PER_DAY, 86_400))
        for n in range(symbols)
    ]
    return pl.concat(frames)


def naive(bars: pl.DataFrame, path: Path) -> float:
    frames = {
        symbol: frame.to_pandas()
        for symbol, frame in bars.partition_by("symbol", as_dict=True, maintain_order=True).items()
    }
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    for (symbol,), frame in frames.items():
        dates = pd.to_datetime(frame["ts"], unit="ns")
        expected = pd.bdate_range(dates.min(), dates.max())
        missing = 1 - dates.nunique() / len(expected)
        duplicate = frame["ts"].duplicated().mean()
        zero_negative = float((frame[["open", "high", "low", "close"]] <= 0).any().any())
        spike = float((np.log(frame["close"]).diff().abs() > 0.5).any())
        score = 1 - (missing * 0.3 + duplicate * 0.2 + zero_negative * 0.2 + spike * 0.3)
        frame.to_sql("price_history", connection, if_exists="append", index=False)
        state = "ACTIVE" if len(frame) >= 1260 and score >= 0.6 else "DEGRADED"
        pd.DataFrame([{"symbol": symbol, "state": state, "score": score}]).to_sql(
            "symbol_governance", connection, if_exists="append", index=False
        )
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def bare(bars: pl.DataFrame, path: Path) -> float:
    rows = bars.rows()
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE price_history (symbol TEXT, ts INTEGER, open REAL, high REAL, low REAL, "
        "close REAL, volume REAL, adj_close REAL, source TEXT, bar_interval_sec INTEGER, "
        "PRIMARY KEY (symbol, ts, bar_interval_sec))"
    )
    connection.executemany("INSERT INTO price_history VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def ours(bars: pl.DataFrame, url: str, tmp: Path) -> float:
    engine = open_engine(url)
    with engine.begin() as connection:
        metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    symbols = sorted(set(bars["symbol"].to_list()))
    config = IngestConfig(
        priority=("fake",),
        capabilities={
            "fake": {
                "stocks": True,
                "fx": True,
                "crypto": True,
                "commodities": True,
                "max_history_days": 36500,
                "requires_entitlement": False,
            }
        },
    )
    provider = FakeProvider(bars, name="fake")
    ingestor = Ingestor(
        store=SqlIngestStore(engine),
        config=config,
        quality=QualityConfig(),
        guard=LiveGuard(tmp / "TRADING_MODE"),
    )
    entries = tuple(UniverseEntry(s, AssetClass.STOCKS) for s in symbols)
    plan = IngestPlan(IngestMode.DEEP_BACKFILL, entries, AS_OF)
    fetcher = partial(fetch_symbol, providers={"fake": provider}, config=config, entitled={})
    started = time.perf_counter()
    summary = ingestor.run(plan, fetcher=fetcher)
    elapsed = time.perf_counter() - started
    assert summary.status == "OK", summary.rejected[:3]
    assert summary.rows_written == bars.height
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", default=None, help="PostgreSQL URL for a tradeloop run there")
    args = parser.parse_args()
    bars = generate(args.symbols)
    print(f"rows: {bars.height:,} ({args.symbols} symbols), runs: {args.runs}")
    results: dict[str, list[float]] = {
        "naive to_sql": [],
        "bare executemany": [],
        "tradeloop sqlite": [],
    }
    if args.pg:
        results["tradeloop postgresql"] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            results["naive to_sql"].append(naive(bars, tmp / f"naive{run}.db"))
            results["bare executemany"].append(bare(bars, tmp / f"bare{run}.db"))
            results["tradeloop sqlite"].append(ours(bars, f"sqlite:///{tmp}/ours{run}.db", tmp))
            if args.pg:
                results["tradeloop postgresql"].append(ours(bars, args.pg, tmp))
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, seconds in medians.items():
        print(f"{name:<22} median {seconds:7.2f} s  ({bars.height / seconds:>9,.0f} rows/s)")
    ours_s = medians["tradeloop sqlite"]
    print(f"tradeloop vs naive:  {medians['naive to_sql'] / ours_s:.2f}x faster (target >= 5x)")
    print(
        f"tradeloop vs bare:   {ours_s / medians['bare executemany']:.2f}x the time "
        "(target <= 1.5x)"
    )
    if args.pg:
        print(
            f"postgresql vs sqlite: {medians['tradeloop postgresql'] / ours_s:.2f}x the time "
            "(target <= 2x)"
        )


if __name__ == "__main__":
    main()
