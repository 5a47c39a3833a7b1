"""Bar frames in the order a pass needs, without copying one that is already in it."""

from __future__ import annotations

import polars as pl


def sorted_by(frame: pl.DataFrame, first: str, second: str) -> pl.DataFrame:
    """``frame`` sorted by (``first``, ``second``); the frame itself when it already is
    (a sort of 1M bars costs about twice their memory at its peak)."""
    if frame.height < 2:
        return frame
    a, b = pl.col(first), pl.col(second)
    in_order = frame.select(
        ((a > a.shift(1)) | ((a == a.shift(1)) & (b >= b.shift(1)))).slice(1).all()
    ).item()
    return frame if in_order else frame.sort(first, second)
