"""TP/SL evaluation of a 1,000-point sweep over one session of bins, the path users run
(``ExperimentRunner.run``: signal + TP/SL with cooldown per point, results stored), vs the
same evaluation written the obvious way in Python over pandas columns (vectorbt has no
cooldown after an exit, so it cannot express this rule). Both on the same dataset (the
bundled ES day in 1 s bins, 10 ticks a side), the same signals and parameters; every
peer point's metrics must equal ours. Ours includes, per run, opening the dataset
(checksums), its gold (built into a file on the first run, read after), the signals and
storing the results. The peer runs ``--peer-points`` of the points (it
takes about a tenth of a second each); the ratio is per point. Then the same sweep on a
local Dask cluster of ``--workers`` processes vs in process.

    .venv/bin/python benchmarks/bench_research_sweep.py [--points 1000] [--peer-points 40]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tradeloop.adapters.databento.mbo_file import DatabentoSource
from tradeloop.research.config_tree import load_tree
from tradeloop.research.dask_sweep import dask_executor
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.gold_builder import gold_for_bins
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.runner import ExperimentRunner
from tradeloop.research.signals import composite_threshold
from tradeloop.research.tpsl import Trades, metrics
from tradeloop.usecases.research_datasets import generate_dataset

ROOT = Path(__file__).resolve().parents[1]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
TICK = 0.25

PIPELINE = """name: es_day
instrument: config/instruments/esh4.yaml
cell_width_ms: 1000
grid_half_width_ticks: 10
"""
SERVING = """name: es_day_composite
pipeline: es_day
signal: {name: composite_threshold}
"""


def _experiment(points: int) -> str:
    side = round(points ** (1 / 3))
    thresholds = np.round(np.linspace(0.01, 0.3, max(1, points // (side * side))), 4).tolist()
    tps = np.linspace(2, 20, side).round(2).tolist()
    sls = np.linspace(2, 20, side).round(2).tolist()
    return (
        "name: es_day_sweep\nserving: es_day_composite\nsweep:\n  mode: grid\n  params:\n"
        f"    signal.threshold: {thresholds}\n    eval.tp_ticks: {tps}\n"
        f"    eval.sl_ticks: {sls}\neval: {{max_hold_bins: 600, cooldown_bins: 10}}\n"
    )


def _project(folder: Path, points: int) -> Path:
    configs = folder / "research" / "configs"
    for kind in ("pipelines", "serving", "experiments"):
        (configs / kind).mkdir(parents=True)
    (configs / "pipelines" / "es_day.yaml").write_text(PIPELINE)
    (configs / "serving" / "es_day_composite.yaml").write_text(SERVING)
    (configs / "experiments" / "es_day_sweep.yaml").write_text(_experiment(points))
    shutil.copytree(ROOT / "config" / "instruments", folder / "config" / "instruments")
    return configs


def _pandas_peer(
    frame: pd.DataFrame, tp: float, sl: float, hold: int, cooldown: int
) -> list[float]:
    """The rules of research/tpsl.py, written the obvious way: a Python loop over rows."""
    mids, signals = frame["mid"].tolist(), frame["signal"].tolist()
    pnl: list[float] = []
    i, blocked, n = 0, -1, len(frame)
    while i < n:
        if signals[i] == 0 or i <= blocked or mids[i] <= 0:
            i += 1
            continue
        direction, entry = signals[i], i + 1
        while entry < n and mids[entry] <= 0:
            entry += 1
        if entry >= n:
            break
        exit_bin, move, last = -1, 0.0, entry
        for j in range(entry + 1, n):
            if mids[j] <= 0:
                continue
            last = j
            move = direction * (mids[j] - mids[entry]) / TICK
            if move >= tp or move <= -sl or j - entry >= hold:
                exit_bin = j
                break
        if exit_bin < 0:
            exit_bin, move = last, direction * (mids[last] - mids[entry]) / TICK
        pnl.append(move)
        blocked, i = exit_bin + cooldown, exit_bin + 1
    return pnl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--peer-points", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tree = load_tree(_project(folder, args.points))
        store = DatasetStore(folder / "datasets")
        dataset, _ = generate_dataset(tree, "es_day", DatabentoSource(), store, lambda _: [DAY])
        bins_count = dataset.manifest["rows"]["bins.parquet"]
        seconds, result = [], None
        for run in range(args.runs):
            runner = ExperimentRunner(tree, store, ResultsDB(folder / f"r{run}"), time.time_ns)
            started = time.perf_counter()
            result = runner.run("es_day_sweep", dataset.id)
            seconds.append(time.perf_counter() - started)
        assert result is not None
        ours = statistics.median(seconds)
        points = len(result.runs)
        print(f"dataset: {bins_count:,} bins of 1 s (the ES day), {points} sweep points")
        print(f"tradeloop (runner, in process): {ours:.2f} s, {ours / points * 1e3:.2f} ms a point"
              f" (median of {args.runs}; each run: "
              f"{', '.join(f'{x:.2f}' for x in seconds)} s, the first builds the dataset's "
              "gold file, the others read it)")  # fmt: skip

        serving = tree.serving("es_day_composite")
        bins = dataset.bins()
        gold = gold_for_bins(dataset, serving.gold)
        frame = pd.DataFrame({"mid": np.where(bins["valid"], bins["mid"], 0.0)})
        peer_seconds = 0.0
        checked = result.runs[:: max(1, points // args.peer_points)][: args.peer_points]
        for run in checked:
            p = run["params"]
            frame["signal"] = composite_threshold(bins, gold, {"threshold": p["signal.threshold"]})
            started = time.perf_counter()
            pnl = _pandas_peer(frame, p["eval.tp_ticks"], p["eval.sl_ticks"], 600, 10)
            peer_seconds += time.perf_counter() - started
            n = len(pnl)
            peer = metrics(Trades(*(np.zeros(n),) * 4, np.array(pnl)))
            assert peer == {k: run[k] for k in peer}, (run["run_id"], peer)
        per_peer = peer_seconds / len(checked)
        print(f"pandas loop (peer): {per_peer * 1e3:.1f} ms a point over {len(checked)} points "
              "(evaluation only; metrics equal to ours on every one)")  # fmt: skip
        print(f"ratio per point (peer / tradeloop, ours incl. signal and storage): "
              f"{per_peer / (ours / points):.1f}x")  # fmt: skip

        with dask_executor(workers=args.workers) as executor:
            runner = ExperimentRunner(tree, store, ResultsDB(folder / "dask"), time.time_ns)
            runner.run("es_day_sweep", dataset.id, executor=executor)  # warm the workers
            runner = ExperimentRunner(tree, store, ResultsDB(folder / "dask2"), time.time_ns)
            started = time.perf_counter()
            spread = runner.run("es_day_sweep", dataset.id, executor=executor)
            dask_s = time.perf_counter() - started
        assert [r["total_pnl_ticks"] for r in spread.runs] == [
            r["total_pnl_ticks"] for r in result.runs
        ]
        print(f"Dask, {args.workers} local workers (cluster up): {dask_s:.2f} s; in process "
              f"{ours:.2f} s: {ours / dask_s:.2f}x (results equal)")  # fmt: skip


if __name__ == "__main__":
    main()
