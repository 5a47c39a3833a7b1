"""Wiring of ``tradeloop tools``: where each tool reads its data (the journal, the tick
archive, the config) and what it hands to the computations."""

from __future__ import annotations

import io
import pstats
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.bootstrap.app import App, load_app_config
from tradeloop.bootstrap.scalper_health import (
    configured_instruments,
    tick_archive_root,
)
from tradeloop.core.errors import DataError
from tradeloop.data.instrument_reference import load_reference, mismatches
from tradeloop.data.tick_gaps import scan_gaps
from tradeloop.execution.fill_model import (
    FillRecord,
    OrderRecord,
    SimulationParams,
    fill_curves,
    simulate_execution,
)


def calibrate_fills(app: App, run_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from tradeloop.store.sql.tables import fills, orders

    with app.engine.connect() as connection:
        rows = connection.execute(
            select(orders).where(orders.c.run_id == run_id, orders.c.order_type == "LIMIT")
        ).all()
        ids = [r.client_order_id for r in rows]
        fill_rows = connection.execute(
            select(fills).where(fills.c.client_order_id.in_(ids))
        ).all() if ids else []  # fmt: skip
    if not rows:
        raise DataError(
            f"no limit orders of run {run_id!r} in the journal. Fix: trade first (tradeloop "
            "scalper run, or the services), or name the run with --run (scalper-paper, "
            "scalper-real)"
        )
    report = fill_curves(
        [OrderRecord(r.client_order_id, r.side, float(r.quantity), r.ts_init, r.ts_updated)
         for r in rows],
        [FillRecord(f.client_order_id, float(f.quantity), f.ts_event) for f in fill_rows],
    )  # fmt: skip
    report["run_id"] = run_id
    return report


def tape_of(app: App, symbol: str | None) -> tuple[str, list[dict[str, Any]]]:
    from tradeloop.store.tick_archive import read_tape

    chosen = symbol or app.config.scalper.symbols[0]
    root = tick_archive_root(app)
    tape = read_tape(root, chosen)
    if not tape:
        raise DataError(
            f"no archived ticks of {chosen} under {root}. Fix: record some first (tradeloop "
            "scalper run, or the collector service), or set scalper.data_health.parquet_root"
        )
    return chosen, tape


def mids(tape: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    books = [m for m in tape if m.get("kind") == "book"]
    ts = np.fromiter((int(m["ts"]) for m in books), dtype=np.int64, count=len(books))
    mid = np.fromiter(
        ((float(m["bids"][0][0]) + float(m["asks"][0][0])) / 2 for m in books),
        dtype=float, count=len(books),
    )  # fmt: skip
    return ts, mid


def simulate(app: App, symbol: str | None, params: SimulationParams,
             curves: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    chosen, tape = tape_of(app, symbol)
    ts, mid = mids(tape)
    report = simulate_execution(ts, mid, params, curves)
    report["symbol"] = chosen
    report["fill_model"] = "calibrated curves" if curves else "every order fills"
    return report


def scan(app: App, root: Path | None, max_gap_ms: float | None) -> dict[str, Any]:
    chosen = root or tick_archive_root(app)
    limit = max_gap_ms if max_gap_ms is not None else app.config.scalper.data_health.max_gap_ms
    report = scan_gaps(chosen, limit).to_json()
    report["max_gap_ms"] = limit
    return report


def validate_symbols(app: App, reference: Path | None) -> dict[str, Any]:
    configured = app.config.scalper.data_health.reference_file
    path = reference or (Path(configured) if configured else None)
    found = mismatches(configured_instruments(app), load_reference(path))
    return {
        "reference": str(path) if path else "bundled Bybit linear table",
        "instruments": sorted(app.config.scalper.instruments),
        "mismatches": [m.describe() for m in found],
    }


def validate_config(path: Path, profile: str | None) -> dict[str, Any]:
    config, source = load_app_config(path, profile)
    scalper = config.scalper
    return {
        "file": str(path),
        "source": source,
        "profile": config.profile,
        "scalper_symbols": list(scalper.symbols),
        "instruments": sorted(scalper.instruments),
        "ok": True,
    }


def profile_entry_point(
    module: str, args: list[str], out: Path, top: int, sort: str, timeout_s: float | None
) -> tuple[str, int]:
    """Run ``python -m <module> <args>`` under cProfile in a child process (any entry point:
    the CLI, a service); the top functions by ``sort`` as text, and the child's exit code.
    The stats stay at ``out`` for pstats or snakeviz."""
    import subprocess
    import sys

    argv = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", module, *args]
    try:
        code = subprocess.run(argv, check=False, timeout=timeout_s).returncode  # noqa: S603
    except subprocess.TimeoutExpired:
        code = 124  # a service runs until stopped: the stats so far are not written
        raise DataError(
            f"{module} ran past --timeout {timeout_s:g} s without exiting, so cProfile wrote "
            "nothing. Fix: bound the run (e.g. --max-messages) or raise --timeout"
        ) from None
    if not out.exists():
        raise DataError(f"{module} wrote no profile (exit {code}): see its output above")
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).strip_dirs().sort_stats(sort).print_stats(top)
    return text.getvalue(), code
