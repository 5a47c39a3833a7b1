"""Gaps in a Parquet tick archive: silences longer than allowed, and missing days.

The archive is Hive-partitioned, ``<root>/symbol=<S>/date=<YYYY-MM-DD>/*.parquet``, each file
holding at least a ``ts`` column (int64 ns). Per symbol the scan reads only ``ts``, sorts
it across files (files may overlap or come out of order; duplicates are not gaps) and
reports each silence longer than ``max_gap_ms`` and each date between the first and the
last that has no partition.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError


@dataclass(frozen=True, slots=True)
class Gap:
    symbol: str
    start_ns: int
    end_ns: int

    @property
    def ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


@dataclass(slots=True)
class GapReport:
    root: str
    symbols: dict[str, int] = field(default_factory=dict)  # rows per symbol
    gaps: list[Gap] = field(default_factory=list)
    missing_dates: dict[str, list[str]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def largest_gap_ms(self) -> dict[str, float]:
        largest = dict.fromkeys(self.symbols, 0.0)
        for gap in self.gaps:
            largest[gap.symbol] = max(largest[gap.symbol], gap.ms)
        return largest

    @property
    def clean(self) -> bool:
        return not (self.gaps or self.unreadable or any(self.missing_dates.values()))

    def to_json(self) -> dict[str, object]:
        return {
            "root": self.root,
            "clean": self.clean,
            "rows": self.symbols,
            "largest_gap_ms": self.largest_gap_ms(),
            "gaps": [
                {"symbol": g.symbol, "start_ns": g.start_ns, "end_ns": g.end_ns, "ms": g.ms}
                for g in self.gaps
            ],
            "missing_dates": self.missing_dates,
            "unreadable": self.unreadable,
        }


def scan_gaps(root: Path, max_gap_ms: float) -> GapReport:
    if not root.is_dir():
        raise DataError(f"tick archive {root} is not a directory. Fix: pass the archive root")
    report = GapReport(str(root))
    for folder in sorted(p for p in root.iterdir() if p.name.startswith("symbol=")):
        symbol = unquote(folder.name.partition("=")[2])
        dates, chunks = [], []
        for day in sorted(p for p in folder.iterdir() if p.name.startswith("date=")):
            dates.append(day.name.partition("=")[2])
            for file in sorted(day.glob("*.parquet")):
                try:
                    chunks.append(pl.read_parquet(file, columns=["ts"])["ts"].to_numpy())
                except Exception as exc:  # a damaged file is reported, never fatal
                    report.unreadable.append(f"{file}: {type(exc).__name__}: {exc}"[:300])
        ts = np.unique(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
        report.symbols[symbol] = int(ts.size)
        report.missing_dates[symbol] = _missing_days(dates)
        if ts.size > 1:
            steps = np.diff(ts)
            for i in np.flatnonzero(steps > max_gap_ms * 1e6):
                report.gaps.append(Gap(symbol, int(ts[i]), int(ts[i + 1])))
    return report


def _missing_days(dates: list[str]) -> list[str]:
    days = sorted({dt.date.fromisoformat(d) for d in dates if _is_date(d)})
    if len(days) < 2:
        return []
    present = set(days)
    span = (days[-1] - days[0]).days
    every = (days[0] + dt.timedelta(days=i) for i in range(span + 1))
    return [d.isoformat() for d in every if d not in present]


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
