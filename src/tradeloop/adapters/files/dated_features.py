"""Optional dated feature files for the prediction curve: ``<root>/<kind>/<SYMBOL>.csv``
(kinds: ``sentiment``, ``options_flow``), with a ``date`` column (``YYYY-MM-DD``; the
value is known at that session's close) and the kind's columns (see
``tradeloop.features.curve_features.OPTIONAL``). A folder or file that is absent means
"no data" (zeros and a 0 flag in the features), never an error; a file that is there but
wrong is refused, naming the file, the column and the fix."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.features.curve_features import OPTIONAL


def _read(path: Path, symbol: str, names: tuple[str, ...]) -> pl.DataFrame:
    try:
        raw = pl.read_csv(path, infer_schema_length=0)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: unreadable ({str(exc).splitlines()[0]})") from None
    columns = {c.lower().strip(): c for c in raw.columns}
    missing = [n for n in ("date", *names) if n not in columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing}. Fix: a header with date,{','.join(names)}"
        )
    try:
        return raw.select(
            pl.lit(symbol).alias("symbol"),
            pl.col(columns["date"])
            .str.strptime(pl.Datetime("ns", "UTC"), "%Y-%m-%d", strict=True)
            .dt.epoch("ns")
            .alias("ts"),
            *(pl.col(columns[n]).cast(pl.Float64, strict=True).alias(n) for n in names),
        ).sort("ts")
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"{path}: a date is not YYYY-MM-DD or a value is not a number "
            f"({str(exc).splitlines()[0][:160]})"
        ) from None


def read_dated_features(root: Path, symbols: list[str]) -> dict[str, pl.DataFrame | None]:
    """Per kind, the rows of every symbol that has a file (None when no symbol has one)."""
    found: dict[str, pl.DataFrame | None] = {}
    for kind, names in OPTIONAL.items():
        frames = [
            _read(root / kind / f"{symbol}.csv", symbol, names)
            for symbol in symbols
            if (root / kind / f"{symbol}.csv").is_file()
        ]
        found[kind] = pl.concat(frames) if frames else None
    return found
