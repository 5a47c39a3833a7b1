"""Forward-return labels for a strategy that decides at a bar's close and trades next open.

For the bar at ``t`` and horizon ``h`` (in bars) the label is the log return from
``open[t+1]`` to ``open[t+1+h]``; it matures at ``ts[t+1+h]``. A label is known at
``as_of`` only if it has matured by then, which keeps training free of look-ahead.
"""

from __future__ import annotations

import polars as pl


def forward_return_labels(
    bars: pl.DataFrame, horizons: tuple[int, ...], *, as_of_ns: int | None = None
) -> pl.DataFrame:
    """Return ``symbol, ts`` and per horizon ``fwd_ret_<h>`` and ``ts_matured_<h>``.

    A label not yet matured at ``as_of_ns`` is null.
    """
    if not horizons or any(h <= 0 for h in horizons) or len(set(horizons)) != len(horizons):
        raise ValueError(f"horizons must be distinct positive bar counts, got {horizons}")
    columns: list[pl.Expr] = []
    for h in horizons:
        matured = pl.col("ts").shift(-(h + 1)).over("symbol")
        value = (pl.col("open").shift(-(h + 1)) / pl.col("open").shift(-1)).log().over("symbol")
        if as_of_ns is not None:
            known = matured <= as_of_ns
            value = pl.when(known).then(value).otherwise(None)
            matured = pl.when(known).then(matured).otherwise(None)
        columns += [value.alias(f"fwd_ret_{h}"), matured.alias(f"ts_matured_{h}")]
    return bars.sort("symbol", "ts").select("symbol", "ts", *columns)
