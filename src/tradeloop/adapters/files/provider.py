"""The ``files`` provider: ``<dir>/<SYMBOL>.csv`` or ``<dir>/<SYMBOL>.parquet``.

Format (header names are case-insensitive):

- a time column, one of ``date`` (``YYYY-MM-DD``, daily bars stamped 00:00 UTC),
  ``datetime`` (ISO 8601; UTC unless it carries an offset) or ``ts`` (UTC epoch ns);
- ``open``, ``high``, ``low``, ``close``, ``volume``; optional ``adj_close``
  (``adj close`` also accepted; defaults to ``close``).

Bars are daily unless the request asks another ``bar_interval_sec``; every row of a file
is taken to have the requested interval. A symbol with ``/`` or ``:`` in its name maps to
a file name with ``_`` in their place.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.data.ports import BarRequest
from tradeloop.data.validation import validate_bars
from tradeloop.domain.bar import BAR_SCHEMA

REQUIRED = ("open", "high", "low", "close", "volume")


class FilesProvider:
    name = "files"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, symbol: str) -> Path:
        stem = re.sub(r"[/:]", "_", symbol)
        for suffix in (".parquet", ".csv"):
            candidate = self.directory / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
        raise DataError(
            f"files provider: no {stem}.csv or {stem}.parquet in {self.directory}. "
            "Fix: add the file (format in tradeloop.adapters.files.provider)."
        )

    def symbols(self) -> tuple[str, ...]:
        if not self.directory.is_dir():
            return ()
        return tuple(
            sorted(p.stem for p in self.directory.iterdir() if p.suffix in (".csv", ".parquet"))
        )

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        path = self._path(request.symbol)
        where = f"files provider {path}"
        try:
            raw = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DataError(f"{where}: unreadable ({str(exc).splitlines()[0]})") from None
        raw = raw.rename({name: name.strip().lower().replace(" ", "_") for name in raw.columns})
        missing = [name for name in REQUIRED if name not in raw.columns]
        if missing:
            raise DataError(f"{where}: missing column(s) {missing}; need {list(REQUIRED)}")
        try:
            ts = self._time_column(raw)
            frame = raw.select(
                pl.lit(request.symbol).alias("symbol"),
                ts.alias("ts"),
                *[pl.col(name).cast(pl.Float64) for name in REQUIRED],
                (pl.col("adj_close") if "adj_close" in raw.columns else pl.col("close"))
                .cast(pl.Float64)
                .alias("adj_close"),
                pl.lit(self.name).alias("source"),
                pl.lit(request.bar_interval_sec, pl.Int64).alias("bar_interval_sec"),
            ).select(list(BAR_SCHEMA))
        except pl.exceptions.PolarsError as exc:
            raise DataError(f"{where}: bad value ({str(exc).splitlines()[0]})") from None
        frame = validate_bars(frame, where)
        return frame.filter((pl.col("ts") >= request.start_ns) & (pl.col("ts") < request.end_ns))

    @staticmethod
    def _time_column(raw: pl.DataFrame) -> pl.Expr:
        if "ts" in raw.columns:
            return pl.col("ts").cast(pl.Int64, strict=True)
        if "date" in raw.columns:
            return (
                pl.col("date")
                .cast(pl.String)
                .str.strptime(pl.Date, "%Y-%m-%d", strict=True)
                .cast(pl.Datetime("ns", "UTC"))
                .dt.epoch("ns")
            )
        if "datetime" in raw.columns:
            return (
                pl.col("datetime")
                .cast(pl.String)
                .str.to_datetime(time_zone="UTC", strict=True, time_unit="ns")
                .dt.epoch("ns")
            )
        raise pl.exceptions.ColumnNotFoundError("need a date, datetime or ts column")
