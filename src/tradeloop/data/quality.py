"""The data-quality score of the institutional runbook.

``score = 1 - (missing_dates_pct*0.3 + duplicate_pct*0.2 + zero_negative_flag*0.2
+ extreme_spike_flag*0.3)``; a score >= 0.6 is accepted.

- ``missing_dates_pct``: the fraction (0..1) of expected sessions with no bar. With a
  trading calendar (``expected``) the sessions are the calendar's; without one, weekdays
  between the first and last bar less ``holiday_allowance_pct``.
- ``duplicate_pct``: the fraction of rows whose timestamp repeats an earlier row.
- ``zero_negative_flag``: 1 if any price is <= 0 or any volume < 0.
- ``extreme_spike_flag``: 1 if any close-to-close move has ``|ln(c_t / c_t-1)| >
  extreme_spike_log_return`` (default 0.5: a one-bar rise above +64.9 % or fall below
  -39.3 %), the signature of a missed split adjustment or a bad print.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tradeloop.data.config import QualityConfig


@dataclass(frozen=True, slots=True)
class QualityReport:
    """The components and the resulting score for one symbol's bars."""

    symbol: str
    rows: int
    missing_dates_pct: float
    duplicate_pct: float
    zero_negative_flag: int
    extreme_spike_flag: int
    score: float
    accepted: bool


def expected_sessions(ts: np.ndarray, bar_interval_sec: int) -> int:
    """Sessions expected between the first and last bar (weekdays for daily bars)."""
    if ts.size == 0:
        return 0
    if bar_interval_sec >= 86_400:
        first = np.datetime64(int(ts.min()), "ns").astype("datetime64[D]")
        last = np.datetime64(int(ts.max()), "ns").astype("datetime64[D]")
        return int(np.busday_count(first, last + np.timedelta64(1, "D")))
    span = int(ts.max() - ts.min()) // (bar_interval_sec * 1_000_000_000) + 1
    return span


def quality_report(
    symbol: str,
    rows: int,
    missing: float,
    duplicate_pct: float,
    zero_negative: int,
    spike: int,
    config: QualityConfig,
) -> QualityReport:
    """Apply the runbook's formula to the four components."""
    score = 1.0 - (missing * 0.3 + duplicate_pct * 0.2 + zero_negative * 0.2 + spike * 0.3)
    score = float(min(1.0, max(0.0, score)))
    return QualityReport(
        symbol=symbol,
        rows=rows,
        missing_dates_pct=float(missing),
        duplicate_pct=float(duplicate_pct),
        zero_negative_flag=zero_negative,
        extreme_spike_flag=spike,
        score=score,
        accepted=score >= config.min_score,
    )


def empty_quality_report(symbol: str) -> QualityReport:
    """The report of a symbol for which no usable bars arrived (score 0, rejected)."""
    return QualityReport(symbol, 0, 1.0, 0.0, 0, 0, 0.0, False)


def score_quality(
    bars: pl.DataFrame,
    config: QualityConfig | None = None,
    expected: np.ndarray | None = None,
) -> QualityReport:
    """Score one symbol's bars following the runbook's formula.

    ``expected`` (session stamps from a trading calendar) makes missing dates exact.
    """
    config = config or QualityConfig()
    if bars.is_empty():
        return empty_quality_report("?")
    symbol = bars["symbol"][0]
    rows = bars.height
    interval = int(bars["bar_interval_sec"][0])
    ts = bars["ts"].to_numpy()
    unique_ts = np.unique(ts)
    duplicate_pct = 1.0 - unique_ts.size / rows
    if expected is not None and expected.size:
        missing = float(np.setdiff1d(expected, unique_ts).size / expected.size)
    else:
        weekdays = max(expected_sessions(unique_ts, interval), unique_ts.size)
        # Exchange holidays make ~3.5% of weekdays missing on real daily data.
        missing = max(0.0, 1.0 - unique_ts.size / weekdays - config.holiday_allowance_pct / 100)
    prices = bars.select("open", "high", "low", "close").to_numpy()
    zero_negative = int(bool((prices <= 0).any() or (bars["volume"].to_numpy() < 0).any()))
    closes = bars.sort("ts")["close"].to_numpy()
    spike = 0
    if closes.size > 1 and (closes > 0).all():
        log_returns = np.abs(np.diff(np.log(closes)))
        spike = int(bool((log_returns > config.extreme_spike_log_return).any()))
    return quality_report(str(symbol), rows, missing, duplicate_pct, zero_negative, spike, config)


def score_quality_many(
    bars: pl.DataFrame,
    expected: dict[str, np.ndarray],
    config: QualityConfig | None = None,
) -> dict[str, QualityReport]:
    """:func:`score_quality` for many symbols in one vectorised pass.

    ``bars`` holds each symbol's bars (unique keys, one interval) and ``expected`` each
    symbol's calendar sessions; a symbol with no bars gets :func:`empty_quality_report`.
    Gives the same reports as calling :func:`score_quality` symbol by symbol.
    """
    config = config or QualityConfig()
    reports = {symbol: empty_quality_report(symbol) for symbol in expected}
    if bars.is_empty():
        return reports
    symbols = list(expected)
    expected_frame = pl.DataFrame(
        {
            "symbol": np.repeat(
                np.array(symbols, dtype=object), [expected[s].size for s in symbols]
            ),
            "ts": np.concatenate([expected[s] for s in symbols]) if symbols else [],
        },
        schema={"symbol": pl.String, "ts": pl.Int64},
    )
    present = (
        bars.select("symbol", "ts")
        .unique()
        .join(expected_frame, on=["symbol", "ts"], how="semi")
        .group_by("symbol")
        .len("in_calendar")
    )
    log_move = pl.col("close").log().diff().abs().over("symbol", order_by="ts")
    stats = (
        bars.group_by("symbol")
        .agg(
            pl.len().alias("rows"),
            pl.col("ts").n_unique().alias("unique_ts"),
            (
                (pl.min_horizontal("open", "high", "low", "close") <= 0).any()
                | (pl.col("volume") < 0).any()
            ).alias("zero_negative"),
            (pl.col("close") > 0).all().alias("closes_positive"),
        )
        .join(
            bars.select("symbol", (log_move > config.extreme_spike_log_return).alias("jump"))
            .group_by("symbol")
            .agg(pl.col("jump").any().alias("spike")),
            on="symbol",
        )
        .join(present, on="symbol", how="left")
    )
    for row in stats.iter_rows(named=True):
        symbol = row["symbol"]
        calendar = expected.get(symbol)
        if calendar is None:
            continue
        rows, unique_ts = int(row["rows"]), int(row["unique_ts"])
        duplicate_pct = 1.0 - unique_ts / rows
        if calendar.size:
            missing = 1.0 - (row["in_calendar"] or 0) / calendar.size
        else:
            subset = bars.filter(pl.col("symbol") == symbol)
            missing = score_quality(subset, config).missing_dates_pct
        zero_negative = int(bool(row["zero_negative"]))
        spike = int(bool(row["spike"]) and bool(row["closes_positive"]) and rows > 1)
        reports[symbol] = quality_report(
            symbol, rows, missing, duplicate_pct, zero_negative, spike, config
        )
    return reports
