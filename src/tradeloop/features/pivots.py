"""Pivot levels per symbol and session, from the prior session only.

Classic floor pivots (P, R1-R3, S1-S3), Camarilla (H3, H4, L3, L4), the prior session's
high / low / close (PDH, PDL, PDC), and the current session's opening range (ORH, ORL),
which exists only once the opening range has closed.
"""

from __future__ import annotations

import polars as pl

from tradeloop.core.time import NS_PER_SECOND
from tradeloop.domain.asset_class import AssetClass, classify_symbol
from tradeloop.features.config import PivotConfig

PRIOR_SESSION_LEVELS = (
    "P",
    "R1",
    "R2",
    "R3",
    "S1",
    "S2",
    "S3",
    "H3",
    "H4",
    "L3",
    "L4",
    "PDH",
    "PDL",
    "PDC",
)
OPENING_RANGE_LEVELS = ("ORH", "ORL")
LEVEL_TYPES = PRIOR_SESSION_LEVELS + OPENING_RANGE_LEVELS


def with_sessions(bars: pl.DataFrame, config: PivotConfig) -> pl.DataFrame:
    """Add ``session`` (local date) and ``ts_close`` (bar end, UTC ns) to intraday bars.

    Stocks and futures use ``config.session_timezone``; FX and crypto the UTC date.
    """
    classes = {s: classify_symbol(s) for s in bars["symbol"].unique().to_list()}
    local = [s for s, c in classes.items() if c in (AssetClass.STOCKS, AssetClass.COMMODITIES)]
    stamp = pl.col("ts").cast(pl.Datetime("ns", "UTC"))
    session = (
        pl.when(pl.col("symbol").is_in(local))
        .then(stamp.dt.convert_time_zone(config.session_timezone).dt.date())
        .otherwise(stamp.dt.date())
    )
    return bars.with_columns(
        session.alias("session"),
        (pl.col("ts") + pl.col("bar_interval_sec") * NS_PER_SECOND).alias("ts_close"),
    )


def session_levels(bars: pl.DataFrame, config: PivotConfig) -> pl.DataFrame:
    """One row per (symbol, session) with every level computed from the prior session.

    ``bars`` must carry ``session`` (see :func:`with_sessions`). The first session of each
    symbol has no prior session and therefore null levels.
    """
    opening_ns = config.opening_range_minutes * 60 * NS_PER_SECOND
    in_opening = pl.col("ts_close") <= pl.col("ts").first() + opening_ns
    daily = (
        bars.sort("symbol", "ts")
        .group_by("symbol", "session", maintain_order=True)
        .agg(
            pl.col("high").max().alias("s_high"),
            pl.col("low").min().alias("s_low"),
            pl.col("close").last().alias("s_close"),
            pl.col("open").first().alias("s_open"),
            pl.col("ts").first().alias("s_first_ts"),
            # The opening range, in the same pass: bars that closed within its window.
            pl.col("high").filter(in_opening).max().alias("ORH"),
            pl.col("low").filter(in_opening).min().alias("ORL"),
            (pl.col("ts").first() + opening_ns).alias("or_end"),
        )
        .sort("symbol", "session")
    )
    prior = [pl.col(name).shift(1).over("symbol") for name in ("s_high", "s_low", "s_close")]
    h, low, c = (expr.alias(name) for expr, name in zip(prior, ("ph", "pl_", "pc"), strict=True))
    frame = daily.with_columns(h, low, c)
    p = (pl.col("ph") + pl.col("pl_") + pl.col("pc")) / 3
    spread = pl.col("ph") - pl.col("pl_")
    levels = frame.with_columns(p.alias("P")).with_columns(
        (2 * pl.col("P") - pl.col("pl_")).alias("R1"),
        (2 * pl.col("P") - pl.col("ph")).alias("S1"),
        (pl.col("P") + spread).alias("R2"),
        (pl.col("P") - spread).alias("S2"),
        (pl.col("ph") + 2 * (pl.col("P") - pl.col("pl_"))).alias("R3"),
        (pl.col("pl_") - 2 * (pl.col("ph") - pl.col("P"))).alias("S3"),
        (pl.col("pc") + spread * 1.1 / 4).alias("H3"),
        (pl.col("pc") + spread * 1.1 / 2).alias("H4"),
        (pl.col("pc") - spread * 1.1 / 4).alias("L3"),
        (pl.col("pc") - spread * 1.1 / 2).alias("L4"),
        pl.col("ph").alias("PDH"),
        pl.col("pl_").alias("PDL"),
        pl.col("pc").alias("PDC"),
    )
    return levels.select("symbol", "session", "s_open", "pc", "or_end", *LEVEL_TYPES)
