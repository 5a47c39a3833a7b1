"""The collector's tick archive: market data as Parquet, ``symbol=<S>/date=<D>/part-*.parquet``.

Rows are buffered and written every ``flush_rows`` rows or ``flush_s`` seconds, one file
per (symbol, UTC date) named by its first and last timestamps, written beside its name and
renamed (a reader never sees half a file). A file republished after a restart has the same
name and the same rows; the gap scan reads timestamps uniquely either way.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl

LEVELS = pl.List(pl.Float64)
SCHEMA: dict[str, Any] = {
    "ts": pl.Int64, "kind": pl.String, "price": pl.Float64, "qty": pl.Float64,
    "side": pl.String, "bid": pl.Float64, "ask": pl.Float64, "bid_size": pl.Float64,
    "ask_size": pl.Float64, "bid_px": LEVELS, "bid_sz": LEVELS, "ask_px": LEVELS,
    "ask_sz": LEVELS,
}  # fmt: skip


class TickArchive:
    def __init__(self, root: Path, flush_rows: int = 20_000, flush_s: float = 10.0) -> None:
        self.root = root
        self.flush_rows, self.flush_s = flush_rows, flush_s
        self._rows: dict[str, list[dict[str, Any]]] = {}
        self._count = 0
        self._last = time.monotonic()
        self.files_written = 0

    def add(self, payloads: list[dict[str, Any]]) -> None:
        for md in payloads:
            row: dict[str, Any] = {"ts": int(md["ts"]), "kind": md.get("kind", "book")}
            if row["kind"] == "trade":
                row.update(price=float(md["price"]), qty=float(md["qty"]), side=md["side"])
            elif row["kind"] == "kline":
                row.update(price=float(md["close"]), qty=float(md["volume"]))
            else:
                bids, asks = md["bids"], md["asks"]
                row.update(
                    bid=float(bids[0][0]), ask=float(asks[0][0]), bid_size=float(bids[0][1]),
                    ask_size=float(asks[0][1]), bid_px=[float(p) for p, _ in bids],
                    bid_sz=[float(q) for _, q in bids], ask_px=[float(p) for p, _ in asks],
                    ask_sz=[float(q) for _, q in asks],
                )  # fmt: skip
            self._rows.setdefault(str(md["symbol"]), []).append(row)
            self._count += 1
        if self._count >= self.flush_rows or time.monotonic() - self._last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        rows, self._rows, self._count = self._rows, {}, 0
        for symbol, items in rows.items():
            frame = pl.DataFrame(items, schema=SCHEMA)
            days = frame["ts"].cast(pl.Datetime("ns", "UTC")).dt.date()
            for day in days.unique().sort():
                part = frame.filter(days == day)
                self._write(symbol, day, part)

    def _write(self, symbol: str, day: dt.date, part: pl.DataFrame) -> None:
        folder = self.root / f"symbol={quote(symbol, safe='^-_.')}" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        first, last = int(part["ts"].min()), int(part["ts"].max())  # type: ignore[arg-type]
        target = folder / f"part-{first}-{last}.parquet"
        partial = target.with_suffix(".parquet.partial")
        part.write_parquet(partial)
        os.replace(partial, target)
        self.files_written += 1


def read_tape(root: Path, symbol: str, start_ns: int | None = None,
              end_ns: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The archived market messages of ``symbol`` in time order (trades before the book of
    the same instant, as they were published), rebuilt as the collector sent them."""
    folder = root / f"symbol={quote(symbol, safe='^-_.')}"
    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
    if not files:
        return []
    frame = pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")
    if start_ns is not None:
        frame = frame.filter(pl.col("ts") >= start_ns)
    if end_ns is not None:
        frame = frame.filter(pl.col("ts") < end_ns)
    frame = frame.unique(maintain_order=True).with_columns(
        (pl.col("kind") == "book").cast(pl.Int8).alias("_order")
    ).sort(["ts", "_order"], maintain_order=True)  # fmt: skip
    out: list[dict[str, Any]] = []
    for row in frame.iter_rows(named=True):
        if row["kind"] == "trade":
            out.append({"kind": "trade", "symbol": symbol, "ts": row["ts"], "price": row["price"],
                        "qty": row["qty"], "side": row["side"]})  # fmt: skip
        elif row["kind"] != "book":
            continue  # klines: kept for the gap scan, not replayed
        elif row.get("bid_px") is not None:
            out.append({
                "kind": "book", "symbol": symbol, "ts": row["ts"],
                "bids": [list(x) for x in zip(row["bid_px"], row["bid_sz"], strict=True)],
                "asks": [list(x) for x in zip(row["ask_px"], row["ask_sz"], strict=True)],
            })  # fmt: skip
        else:  # a file written with the touch only
            out.append({"kind": "book", "symbol": symbol, "ts": row["ts"],
                        "bids": [[row["bid"], row["bid_size"]]],
                        "asks": [[row["ask"], row["ask_size"]]]})  # fmt: skip
    return out
