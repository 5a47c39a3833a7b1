"""Pivot levels + touch detection + event features, and label maturation, vs a pandas loop.

One year of 1-minute bars for 10 synthetic symbols (~1M bars). tradeloop's vectorised
path runs on all of it; the baseline is a straightforward pandas row loop (what a quant
writes first), run on a slice, and compared by throughput (bars per second).

    .venv/bin/python benchmarks/bench_pivot_events.py [--symbols 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np
import pandas as pd
import polars as pl

from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.time import parse_ns
from tradeloop.data.ports import BarRequest
from tradeloop.features.config import PivotConfig
from tradeloop.features.touch_events import detect_touch_events
from tradeloop.labels.config import EventLabelConfig
from tradeloop.labels.event_outcomes import label_events

START, END = parse_ns("2023-01-01"), parse_ns("2024-01-01")


def generate(symbols: int) -> pl.DataFrame:
    provider = SyntheticProvider(seed=5)
    return pl.concat(
        [provider.fetch_bars(BarRequest(f"S{n:02d}", START, END, 60)) for n in range(symbols)]
    )


def naive_events(bars: pd.DataFrame, tolerance_bps: float = 5.0) -> list[dict[str, float]]:
    """Row by row: levels from the prior session, touches, a few features."""
    events = []
    tol = tolerance_bps / 1e4
    for _symbol, frame in bars.groupby("symbol"):
        frame = frame.sort_values("ts")
        sessions = (
            pd.to_datetime(frame["ts"], unit="ns", utc=True)
            .dt.tz_convert("America/New_York")
            .dt.date.to_numpy()
        )
        prior: dict[str, float] | None = None
        day_high = day_low = day_close = None
        current = None
        touching: dict[str, bool] = {}
        closes: list[float] = []
        for (_, row), session in zip(frame.iterrows(), sessions, strict=True):
            if session != current:
                if current is not None:
                    p = (day_high + day_low + day_close) / 3
                    prior = {
                        "P": p,
                        "R1": 2 * p - day_low,
                        "S1": 2 * p - day_high,
                        "PDH": day_high,
                        "PDL": day_low,
                        "PDC": day_close,
                    }
                current, day_high, day_low = session, row["high"], row["low"]
                touching = {}
            day_high, day_low = max(day_high, row["high"]), min(day_low, row["low"])
            day_close = row["close"]
            closes.append(row["close"])
            if prior is None:
                continue
            for name, level in prior.items():
                hit = row["low"] <= level * (1 + tol) and row["high"] >= level * (1 - tol)
                if hit and not touching.get(name):
                    window = closes[-15:]
                    gains = [max(b - a, 0) for a, b in itertools.pairwise(window)]
                    losses = [max(a - b, 0) for a, b in itertools.pairwise(window)]
                    rsi = 100 - 100 / (1 + (np.mean(gains) / max(np.mean(losses), 1e-12)))
                    events.append(
                        {"level": level, "distance": (row["close"] - level) / level, "rsi": rsi}
                    )
                touching[name] = hit
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-bars", type=int, default=40_000)
    args = parser.parse_args()
    bars = generate(args.symbols)
    config, labels_config = PivotConfig(), EventLabelConfig()
    detect_times, label_times = [], []
    events = detect_touch_events(bars.head(50_000), config)  # warm-up
    for _ in range(args.runs):
        started = time.perf_counter()
        events = detect_touch_events(bars, config)
        detect_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        labels = label_events(events, bars, labels_config)
        label_times.append(time.perf_counter() - started)
    sample = bars.filter(pl.col("symbol") == "S00").head(args.baseline_bars).to_pandas()
    started = time.perf_counter()
    naive = naive_events(sample)
    naive_seconds = time.perf_counter() - started
    detect = statistics.median(detect_times)
    label = statistics.median(label_times)
    ours_rate = bars.height / detect
    naive_rate = len(sample) / naive_seconds
    print(
        f"bars: {bars.height:,} ({args.symbols} symbols x 1 year of 1-minute bars), "
        f"runs: {args.runs}"
    )
    print(f"events: {events.height:,}; labels: {labels.height:,}")
    print(f"levels + touches + features: median {detect:.2f} s  ({ours_rate:,.0f} bars/s)")
    print(
        f"label maturation:            median {label:.2f} s  "
        f"({events.height / label:,.0f} events/s)"
    )
    print(
        f"pandas row loop ({len(sample):,} bars, {len(naive):,} events): {naive_seconds:.2f} s "
        f"({naive_rate:,.0f} bars/s)"
    )
    print(
        f"ratio (tradeloop / pandas loop, bars/s): {ours_rate / naive_rate:.0f}x "
        "(target >= 50x; target >= 2,000,000 bars/s)"
    )


if __name__ == "__main__":
    main()
