"""Technical features on a bar frame; each row uses only bars at or before its own ts."""

from __future__ import annotations

import polars as pl

from tradeloop.features.schema import FeatureSchema


def _log_return(lag: int) -> pl.Expr:
    return (pl.col("close") / pl.col("close").shift(lag)).log()


def _rsi(window: int) -> pl.Expr:
    change = pl.col("close").diff()
    gain = change.clip(lower_bound=0).ewm_mean(alpha=1 / window, adjust=False)
    loss = (-change).clip(lower_bound=0).ewm_mean(alpha=1 / window, adjust=False)
    return 100 - 100 / (1 + gain / loss)


def _true_range() -> pl.Expr:
    previous = pl.col("close").shift(1)
    return pl.max_horizontal(
        pl.col("high") - pl.col("low"),
        (pl.col("high") - previous).abs(),
        (pl.col("low") - previous).abs(),
    )


TECHNICAL_FEATURES: dict[str, tuple[str, pl.Expr]] = {
    "ret_1": ("log(close/close[-1])", _log_return(1)),
    "ret_5": ("log(close/close[-5])", _log_return(5)),
    "ret_20": ("log(close/close[-20])", _log_return(20)),
    "sma_ratio_10_50": (
        "sma(close,10)/sma(close,50)-1",
        pl.col("close").rolling_mean(10) / pl.col("close").rolling_mean(50) - 1,
    ),
    "close_sma_200": (
        "close/sma(close,200)-1",
        pl.col("close") / pl.col("close").rolling_mean(200) - 1,
    ),
    "rsi_14": ("wilder rsi(close,14)", _rsi(14)),
    "atr_pct_14": (
        "wilder atr(14)/close",
        _true_range().ewm_mean(alpha=1 / 14, adjust=False) / pl.col("close"),
    ),
    "vol_20": ("std(log returns,20)", _log_return(1).rolling_std(20)),
    "vol_ratio_5_60": (
        "std(ret,5)/std(ret,60)",
        _log_return(1).rolling_std(5) / _log_return(1).rolling_std(60),
    ),
    "range_pos_20": (
        "(close-min(low,20))/(max(high,20)-min(low,20))",
        (pl.col("close") - pl.col("low").rolling_min(20))
        / (pl.col("high").rolling_max(20) - pl.col("low").rolling_min(20)),
    ),
    "volume_z_20": (
        "zscore(log volume,20)",
        ((pl.col("volume") + 1).log() - (pl.col("volume") + 1).log().rolling_mean(20))
        / (pl.col("volume") + 1).log().rolling_std(20),
    ),
}

TECHNICAL_SCHEMA = FeatureSchema(
    version="technical-1",
    names=tuple(TECHNICAL_FEATURES),
    definitions=tuple(definition for definition, _ in TECHNICAL_FEATURES.values()),
)


def compute_technical(bars: pl.DataFrame) -> pl.DataFrame:
    """Return ``symbol, ts`` plus the technical features, per symbol, in ts order.

    Rows before every feature has its full window are kept with nulls; callers drop them.
    """
    expressions = [
        expr.over("symbol").alias(name) for name, (_, expr) in TECHNICAL_FEATURES.items()
    ]
    frame = bars.sort("symbol", "ts").select("symbol", "ts", *expressions)
    # Division by zero (flat windows) yields inf/NaN: mark as missing, never as a value.
    return frame.with_columns(
        [
            pl.when(pl.col(name).is_finite()).then(pl.col(name)).otherwise(None).alias(name)
            for name in TECHNICAL_SCHEMA.names
        ]
    )
