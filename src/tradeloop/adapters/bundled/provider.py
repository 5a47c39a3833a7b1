"""The ``bundled`` provider: real daily and hourly history read from installed packages.

Daily bars are stamped at 00:00 UTC of the session date; hourly bars at their given
hour, read as UTC.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.data.ports import BarRequest
from tradeloop.data.validation import validate_bars
from tradeloop.domain.bar import BAR_SCHEMA, DAILY_SEC


@dataclass(frozen=True, slots=True)
class BundledDataset:
    """Where one symbol's history lies inside an installed package, and its shape."""

    symbol: str
    package: str
    filename: str
    date_format: str
    bar_interval_sec: int
    min_rows: int
    has_adj_close: bool

    def default_path(self) -> Path:
        # Only the top-level package is looked up: find_spec("arch.data.sp500") would
        # import arch itself (3 s of statsmodels and scipy) just to locate a CSV file.
        top, *inner = self.package.split(".")
        spec = importlib.util.find_spec(top)
        if spec is None or spec.origin is None:
            raise DataError(
                f"bundled dataset {self.symbol}: package {self.package!r} is not installed. "
                f"Fix: pip install {self.package.split('.')[0]}."
            )
        return Path(spec.origin).parent.joinpath(*inner, self.filename)


BUNDLED_DATASETS: dict[str, BundledDataset] = {
    "^GSPC": BundledDataset(
        "^GSPC", "arch.data.sp500", "sp500.csv.gz", "%m/%d/%Y", DAILY_SEC, 5000, True
    ),
    "^IXIC": BundledDataset(
        "^IXIC", "arch.data.nasdaq", "nasdaq.csv.gz", "%m/%d/%Y", DAILY_SEC, 5000, True
    ),
    "GOOG": BundledDataset(
        "GOOG", "backtesting.test", "GOOG.csv", "%Y-%m-%d", DAILY_SEC, 2100, False
    ),
    "EURUSD=X": BundledDataset(
        "EURUSD=X", "backtesting.test", "EURUSD.csv", "%Y-%m-%d %H:%M:%S", 3600, 4900, False
    ),
}


def read_bundled(dataset: BundledDataset, path: Path) -> pl.DataFrame:
    """Read and validate one bundled file; a missing, corrupt or truncated file is refused."""
    where = f"bundled dataset {dataset.symbol} ({path})"
    fix = (
        f"Fix: reinstall the package: pip install --force-reinstall {dataset.package.split('.')[0]}"
    )
    if not path.exists():
        raise DataError(f"{where}: file not found. {fix}")
    try:
        raw = pl.read_csv(path, infer_schema_length=0)
    except (pl.exceptions.PolarsError, OSError, EOFError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{where}: unreadable ({first_line}). {fix}") from None
    date_column = raw.columns[0]
    needed = ["Open", "High", "Low", "Close", "Volume"]
    missing = [column for column in needed if column not in raw.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}. {fix}")
    if raw.height < dataset.min_rows:
        raise DataError(
            f"{where}: {raw.height} rows, expected at least {dataset.min_rows}; the file is "
            f"truncated. {fix}"
        )
    try:
        adj = "Adj Close" if dataset.has_adj_close else "Close"
        frame = raw.select(
            pl.lit(dataset.symbol).alias("symbol"),
            pl.col(date_column)
            .str.strptime(pl.Datetime("ns", "UTC"), dataset.date_format, strict=True)
            .dt.epoch("ns")
            .alias("ts"),
            *[pl.col(c).cast(pl.Float64, strict=True).alias(c.lower()) for c in needed],
            pl.col(adj).cast(pl.Float64, strict=True).alias("adj_close"),
            pl.lit("bundled").alias("source"),
            pl.lit(dataset.bar_interval_sec, pl.Int64).alias("bar_interval_sec"),
        ).select(list(BAR_SCHEMA))
    except pl.exceptions.PolarsError as exc:
        first_line = str(exc).splitlines()[0]
        raise DataError(f"{where}: malformed value ({first_line}). {fix}") from None
    return validate_bars(frame, where)


class BundledProvider:
    """Serves ``^GSPC``, ``^IXIC``, ``GOOG`` (daily) and ``EURUSD=X`` (hourly) offline."""

    name = "bundled"

    def __init__(self, paths: dict[str, Path] | None = None) -> None:
        self._paths = dict(paths or {})
        self._cache: dict[str, pl.DataFrame] = {}

    def symbols(self) -> tuple[str, ...]:
        return tuple(BUNDLED_DATASETS)

    def dataset(self, symbol: str) -> BundledDataset:
        try:
            return BUNDLED_DATASETS[symbol]
        except KeyError:
            raise DataError(
                f"bundled provider has no symbol {symbol!r}; it serves "
                f"{', '.join(BUNDLED_DATASETS)}. Fix: pick one of those or use 'synthetic'."
            ) from None

    def history(self, symbol: str) -> pl.DataFrame:
        """All bars of ``symbol`` (validated once, then cached)."""
        if symbol not in self._cache:
            dataset = self.dataset(symbol)
            path = self._paths.get(symbol) or dataset.default_path()
            self._cache[symbol] = read_bundled(dataset, path)
        return self._cache[symbol]

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        dataset = self.dataset(request.symbol)
        if request.bar_interval_sec != dataset.bar_interval_sec:
            raise DataError(
                f"bundled {request.symbol} has {dataset.bar_interval_sec}-second bars; "
                f"{request.bar_interval_sec} was asked. Fix: request "
                f"bar_interval_sec={dataset.bar_interval_sec}."
            )
        bars = self.history(request.symbol)
        return bars.filter((pl.col("ts") >= request.start_ns) & (pl.col("ts") < request.end_ns))
