"""The prediction curve's input: per symbol and session, technical features of its own bars,
market-regime features from reference index series, and optional dated feature files
(sentiment, options flow) that are zeros with a 0 flag where absent, never invented.

Each row uses only bars (and file rows) dated at or before its own session: the curve is
decided at the close and traded from the next open.
"""

from __future__ import annotations

import polars as pl

from tradeloop.features.schema import FeatureSchema

C, H, L, OPEN, V = (pl.col(n) for n in ("close", "high", "low", "open", "volume"))


def _ret(lag: int) -> pl.Expr:
    return (C / C.shift(lag)).log()


def _sma(window: int) -> pl.Expr:
    return C.rolling_mean(window)


def _ema(span: int) -> pl.Expr:
    return C.ewm_mean(span=span, adjust=False)


def _rsi(window: int) -> pl.Expr:
    change = C.diff()
    gain = change.clip(lower_bound=0).ewm_mean(alpha=1 / window, adjust=False)
    loss = (-change).clip(lower_bound=0).ewm_mean(alpha=1 / window, adjust=False)
    return 100 - 100 / (1 + gain / loss)


def _true_range() -> pl.Expr:
    previous = C.shift(1)
    return pl.max_horizontal(H - L, (H - previous).abs(), (L - previous).abs())


def _range_pos(window: int) -> pl.Expr:
    low, high = L.rolling_min(window), H.rolling_max(window)
    return (C - low) / (high - low)


def _log_volume() -> pl.Expr:
    return (V + 1).log()


_MACD = (_ema(12) - _ema(26)) / C
_TYPICAL = (H + L + C) / 3
_STOCH_K = _range_pos(14) * 100

TECHNICAL: dict[str, tuple[str, pl.Expr]] = {
    **{
        f"ret_{n}": (f"log(close/close[-{n}])", _ret(n)) for n in (1, 2, 3, 5, 10, 20, 60, 120, 252)
    },
    **{
        f"close_sma_{n}": (f"close/sma(close,{n})-1", C / _sma(n) - 1)
        for n in (5, 10, 20, 50, 100, 200)
    },
    **{
        f"sma_ratio_{a}_{b}": (f"sma(close,{a})/sma(close,{b})-1", _sma(a) / _sma(b) - 1)
        for a, b in ((10, 50), (20, 100), (50, 200))
    },
    "close_ema_12": ("close/ema(close,12)-1", C / _ema(12) - 1),
    "close_ema_26": ("close/ema(close,26)-1", C / _ema(26) - 1),
    "macd": ("(ema12-ema26)/close", _MACD),
    "macd_signal": ("ema((ema12-ema26)/close, 9)", _MACD.ewm_mean(span=9, adjust=False)),
    "macd_hist": ("macd - macd_signal", _MACD - _MACD.ewm_mean(span=9, adjust=False)),
    **{f"rsi_{n}": (f"wilder rsi(close,{n})", _rsi(n)) for n in (7, 14, 28)},
    "bb_pct_b_20": (
        "(close-(sma20-2sd))/(4sd), sd=std(close,20)",
        (C - (_sma(20) - 2 * C.rolling_std(20))) / (4 * C.rolling_std(20)),
    ),
    "bb_width_20": ("4*std(close,20)/sma(close,20)", 4 * C.rolling_std(20) / _sma(20)),
    "stoch_k_14": ("100*(close-min(low,14))/(max(high,14)-min(low,14))", _STOCH_K),
    "stoch_d_3": ("sma(stoch_k_14,3)", _STOCH_K.rolling_mean(3)),
    "williams_r_14": ("stoch_k_14-100", _STOCH_K - 100),
    "cci_20": (
        "(tp-sma(tp,20))/(0.015*mean|tp-sma(tp,20)|), tp=(h+l+c)/3",
        (_TYPICAL - _TYPICAL.rolling_mean(20))
        / (0.015 * (_TYPICAL - _TYPICAL.rolling_mean(20)).abs().rolling_mean(20)),
    ),
    "atr_pct_14": (
        "wilder atr(14)/close",
        _true_range().ewm_mean(alpha=1 / 14, adjust=False) / C,
    ),
    **{f"vol_{n}": (f"std(ret_1,{n})", _ret(1).rolling_std(n)) for n in (5, 10, 20, 60, 120)},
    "vol_ratio_5_60": (
        "std(ret_1,5)/std(ret_1,60)",
        _ret(1).rolling_std(5) / _ret(1).rolling_std(60),
    ),
    "vol_ratio_20_120": (
        "std(ret_1,20)/std(ret_1,120)",
        _ret(1).rolling_std(20) / _ret(1).rolling_std(120),
    ),
    "parkinson_vol_20": (
        "sqrt(mean(log(high/low)^2,20)/(4 ln 2))",
        ((H / L).log().pow(2).rolling_mean(20) / (4 * 0.6931471805599453)).sqrt(),
    ),
    **{f"range_pos_{n}": (f"(close-min(low,{n}))/(max-min)", _range_pos(n)) for n in (20, 60, 252)},
    "drawdown_252": ("close/max(high,252)-1", C / H.rolling_max(252) - 1),
    "above_low_252": ("close/min(low,252)-1", C / L.rolling_min(252) - 1),
    "volume_z_20": (
        "zscore(log volume,20)",
        (_log_volume() - _log_volume().rolling_mean(20)) / _log_volume().rolling_std(20),
    ),
    "volume_ratio_5_20": ("sma(volume,5)/sma(volume,20)", V.rolling_mean(5) / V.rolling_mean(20)),
    "volume_ratio_20_60": (
        "sma(volume,20)/sma(volume,60)",
        V.rolling_mean(20) / V.rolling_mean(60),
    ),
    "obv_flow_20": (
        "sum(sign(ret_1)*volume,20)/sum(volume,20)",
        (_ret(1).sign() * V).rolling_sum(20) / V.rolling_sum(20),
    ),
    "up_days_20": ("share of ret_1>0 over 20", (_ret(1) > 0).cast(pl.Float64).rolling_mean(20)),
    "gap": ("open/close[-1]-1", OPEN / C.shift(1) - 1),
    "intraday_ret": ("close/open-1", C / OPEN - 1),
}

# Reference series: "mkt" (the market, default SPY) and "grw" (growth, default QQQ).
REGIME: dict[str, str] = {
    "mkt_ret_1": "market log(close/close[-1])",
    "mkt_ret_5": "market log(close/close[-5])",
    "mkt_ret_20": "market log(close/close[-20])",
    "mkt_vol_20": "market std(ret_1,20)",
    "mkt_trend_200": "market close/sma(close,200)-1",
    "mkt_drawdown_252": "market close/max(close,252)-1",
    "mkt_above_200": "1 if market close > sma(close,200) else 0",
    "mkt_vol_regime": "market std(ret_1,20)/std(ret_1,252)",
    "grw_ret_20": "growth log(close/close[-20])",
    "grw_vs_mkt_20": "growth ret_20 - market ret_20",
    "beta_60": "cov(ret_1, market ret_1, 60)/var(market ret_1, 60)",
    "corr_60": "corr(ret_1, market ret_1, 60)",
    "rel_strength_20": "ret_20 - market ret_20",
    "rel_strength_60": "ret_60 - market log(close/close[-60])",
}

SENTIMENT = ("sent_mean", "sent_positive", "sent_negative", "sent_volume", "sent_change")
OPTIONS_FLOW = ("put_call_ratio", "iv_rank", "call_volume_z", "put_volume_z", "net_premium")
OPTIONAL: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENT, "options_flow": OPTIONS_FLOW}

CURVE_SCHEMA = FeatureSchema(
    version="curve-1",
    names=(
        *TECHNICAL,
        *REGIME,
        *SENTIMENT,
        "sentiment_present",
        *OPTIONS_FLOW,
        "options_flow_present",
    ),
    definitions=(
        *(d for d, _ in TECHNICAL.values()),
        *REGIME.values(),
        *(f"dated file sentiment/{n} (0 when absent)" for n in SENTIMENT),
        "1 when a sentiment row dated <= the session exists, else 0",
        *(f"dated file options_flow/{n} (0 when absent)" for n in OPTIONS_FLOW),
        "1 when an options-flow row dated <= the session exists, else 0",
    ),
)


def _reference(bars: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """One reference series' per-session values, renamed with ``prefix``."""
    r1 = _ret(1)
    return (
        bars.sort("ts")
        .select(
            "ts",
            r1.alias(f"{prefix}_ret_1"),
            _ret(5).alias(f"{prefix}_ret_5"),
            _ret(20).alias(f"{prefix}_ret_20"),
            _ret(60).alias(f"{prefix}_ret_60"),
            r1.rolling_std(20).alias(f"{prefix}_vol_20"),
            (r1.rolling_std(20) / r1.rolling_std(252)).alias(f"{prefix}_vol_regime"),
            (C / _sma(200) - 1).alias(f"{prefix}_trend_200"),
            (C / C.rolling_max(252) - 1).alias(f"{prefix}_drawdown_252"),
        )
        .with_columns(
            pl.when(pl.col(f"{prefix}_trend_200").is_null())
            .then(None)
            .otherwise((pl.col(f"{prefix}_trend_200") > 0).cast(pl.Float64))
            .alias(f"{prefix}_above_200")
        )
    )


REFERENCE_TOLERANCE_DAYS = 5  # a weekend and a holiday; staler reference values are missing


def _regime(frame: pl.DataFrame, market: pl.DataFrame, growth: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (symbol, ts, ret_1, ret_20, ret_60) joined as of each session with the
    references: their latest session at or before it, if at most
    REFERENCE_TOLERANCE_DAYS old (else missing: a stale market is not the market)."""
    late = REFERENCE_TOLERANCE_DAYS * 86_400 * 1_000_000_000
    joined = frame.sort("ts").join_asof(
        _reference(market, "mkt"), on="ts", strategy="backward", tolerance=late
    )
    joined = joined.join_asof(
        _reference(growth, "grw").select("ts", "grw_ret_20"), on="ts", strategy="backward",
        tolerance=late,
    ).sort("symbol", "ts")  # fmt: skip
    own, mkt = pl.col("ret_1"), pl.col("mkt_ret_1")
    cov = pl.rolling_cov(own, mkt, window_size=60)
    return joined.with_columns(
        (cov / mkt.rolling_var(60)).over("symbol").alias("beta_60"),
        pl.rolling_corr(own, mkt, window_size=60).over("symbol").alias("corr_60"),
        (pl.col("grw_ret_20") - pl.col("mkt_ret_20")).alias("grw_vs_mkt_20"),
        (pl.col("ret_20") - pl.col("mkt_ret_20")).alias("rel_strength_20"),
        (pl.col("ret_60") - pl.col("mkt_ret_60")).alias("rel_strength_60"),
    )


def _optional(frame: pl.DataFrame, kind: str, rows: pl.DataFrame | None) -> pl.DataFrame:
    """``frame`` with the ``kind`` columns as of each session (0 and a 0 flag where none)."""
    names = OPTIONAL[kind]
    flag = f"{kind}_present"
    if rows is None or rows.is_empty():
        return frame.with_columns(*(pl.lit(0.0).alias(n) for n in names), pl.lit(0.0).alias(flag))
    dated = (
        rows.select("symbol", "ts", *(pl.col(n).cast(pl.Float64) for n in names))
        .with_columns(pl.lit(1.0).alias(flag))
        .sort("ts")
    )
    joined = frame.sort("ts").join_asof(dated, on="ts", by="symbol", strategy="backward")
    return joined.sort("symbol", "ts").with_columns(
        *(pl.col(n).fill_null(0.0).fill_nan(0.0) for n in names), pl.col(flag).fill_null(0.0)
    )


def compute_curve_features(
    bars: pl.DataFrame,
    market: pl.DataFrame,
    growth: pl.DataFrame,
    optional: dict[str, pl.DataFrame | None] | None = None,
) -> pl.DataFrame:
    """``symbol, ts`` plus CURVE_SCHEMA's columns for every bar of ``bars`` (daily bars of
    one or many symbols); rows before a window is full hold nulls (callers drop them).
    ``market`` and ``growth``: daily bars of the reference series. ``optional``: dated
    rows (``symbol, ts`` and the kind's columns) per kind of OPTIONAL."""
    technical = [expr.over("symbol").alias(name) for name, (_, expr) in TECHNICAL.items()]
    frame = bars.sort("symbol", "ts").select("symbol", "ts", *technical)
    frame = _regime(frame, market, growth)
    for kind in OPTIONAL:
        frame = _optional(frame, kind, (optional or {}).get(kind))
    frame = frame.sort("symbol", "ts").select("symbol", "ts", *CURVE_SCHEMA.names)
    # A flat window divides by zero: that is a missing value, never a number.
    return frame.with_columns(
        pl.when(pl.col(n).is_finite()).then(pl.col(n)).otherwise(None).alias(n)
        for n in CURVE_SCHEMA.names
    )
