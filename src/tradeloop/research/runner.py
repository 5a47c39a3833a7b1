"""The experiment runner: an ExperimentSpec's sweep over one dataset, each point's signal
evaluated by TP/SL with cooldown, the metrics appended to the results store.

One code path for every caller (the CLI now, the job queue and the API later wrap it and
never change it): ``ExperimentRunner.run``. Gold features come from the dataset's gold
file for the serving's gold parameters, built on first use (``gold_builder``: the same
``GoldRuntime`` as live scoring); each point is a pure function of the bins, the gold and
its parameters, so the points can be mapped by any executor (in process, or a Dask
cluster) with equal results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeloop.core.errors import ConfigError
from tradeloop.research.config_tree import ConfigTree
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.gold_builder import load_gold
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.signals import signal_function
from tradeloop.research.specs import EvalSpec, ExperimentSpec, ServingSpec
from tradeloop.research.sweep import sweep_points
from tradeloop.research.tpsl import Trades, evaluate, metrics

Columns = dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class RunPoint:
    run_id: str
    params: dict[str, float]


@dataclass(frozen=True, slots=True)
class PointContext:
    """What every point of one run reads (sent once to each worker)."""

    bins: Columns
    gold: Columns
    serving: ServingSpec
    eval: EvalSpec
    tick_size: float
    mid: np.ndarray  # each bin's mid, 0 where the bin is invalid (the evaluation skips those)


def evaluate_point(
    context: PointContext, point: RunPoint, signals: dict[str, np.ndarray] | None = None
) -> dict[str, Any]:
    """One point's metrics: its signal on the bins, then TP/SL with cooldown. ``signals``
    keeps the signals computed so far by their parameters (points of a grid share them)."""
    return metrics(point_trades(context, point, signals))


def point_trades(
    context: PointContext, point: RunPoint, signals: dict[str, np.ndarray] | None = None
) -> Trades:
    """The trades of one point (what ``evaluate_point`` measures)."""
    signal_params = dict(context.serving.signal.resolved())
    eval_params = context.eval.model_dump()
    for key, value in point.params.items():
        area, _, name = key.partition(".")
        if area == "signal":
            signal_params[name] = value
        else:
            eval_params[name] = value
    key = json.dumps(signal_params, sort_keys=True)
    signal = signals.get(key) if signals is not None else None
    if signal is None:
        compute = signal_function(context.serving.signal.name)
        signal = compute(context.bins, context.gold, signal_params)
        if signals is not None:
            signals[key] = signal
    trades = evaluate(
        context.mid, signal, context.tick_size,
        tp_ticks=eval_params["tp_ticks"], sl_ticks=eval_params["sl_ticks"],
        max_hold_bins=int(eval_params["max_hold_bins"]),
        cooldown_bins=int(eval_params["cooldown_bins"]),
    )  # fmt: skip
    return trades


def in_process(
    context: PointContext, points: Sequence[RunPoint], on_point: Callable[[int], None]
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    signals: dict[str, np.ndarray] = {}
    for point in points:
        results.append(evaluate_point(context, point, signals))
        on_point(1)
    return results


Executor = Callable[[PointContext, Sequence[RunPoint], Callable[[int], None]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    experiment: str
    dataset_id: str
    runs: list[dict[str, Any]]
    stored: int


class ExperimentRunner:
    def __init__(
        self, tree: ConfigTree, datasets: DatasetStore, results: ResultsDB, clock: Callable[[], int]
    ) -> None:
        self.tree, self.datasets, self.results, self.clock = tree, datasets, results, clock

    def plan(
        self, experiment: ExperimentSpec, serving: ServingSpec, dataset: str
    ) -> list[RunPoint]:
        """The sweep's points with their run ids (the same spec and dataset: the same ids)."""
        for key in experiment.sweep.params:
            area, _, name = key.partition(".")
            if area == "signal" and name not in serving.signal.resolved():
                raise ConfigError(
                    f"experiment {experiment.name}: sweep.params.{key}: signal "
                    f"{serving.signal.name} has no parameter {name!r} (it has "
                    f"{', '.join(serving.signal.resolved())})"
                )
        decided = {
            "experiment": experiment.model_dump(mode="json", exclude={"description"}),
            "serving": serving.model_dump(mode="json", exclude={"description", "overlays"}),
            "dataset": dataset,
        }
        points = []
        for params in sweep_points(experiment.sweep):
            text = json.dumps({**decided, "point": params}, sort_keys=True)
            points.append(RunPoint(hashlib.sha256(text.encode()).hexdigest()[:16], params))
        return points

    def run(
        self,
        experiment_name: str,
        dataset_id: str,
        *,
        executor: Executor = in_process,
        on_point: Callable[[int], None] = lambda n: None,
    ) -> ExperimentResult:
        experiment, serving, pipeline = self.tree.chain(experiment_name)
        dataset = self.datasets.open(dataset_id)
        made_by = dataset.manifest.get("pipeline", {})
        content = pipeline.model_dump(mode="json", exclude={"name", "description"})
        if {k: v for k, v in made_by.items() if k not in ("name", "description")} != content:
            raise ConfigError(
                f"dataset {dataset_id} was made by pipeline {made_by.get('name')!r} with other "
                f"settings than {pipeline.name!r}, which the experiment's serving reads. Fix: "
                f"tradeloop research generate --pipeline {pipeline.name} and use its dataset"
            )
        points = self.plan(experiment, serving, dataset_id)
        context = self._context(dataset, serving, experiment)
        scores = executor(context, points, on_point)
        now = self.clock()
        meta = {
            "experiment": experiment.name,
            "serving": serving.name,
            "pipeline": pipeline.name,
            "dataset_id": dataset_id,
            "created_at_ns": now,
        }
        rows = [
            ({"run_id": p.run_id, **meta, "params": p.params}, score)
            for p, score in zip(points, scores, strict=True)
        ]
        stored = self.results.append(rows)
        return ExperimentResult(
            experiment.name,
            dataset_id,
            [{"run_id": m["run_id"], "params": m["params"], **s} for m, s in rows],
            stored,
        )

    def _context(
        self, dataset: Any, serving: ServingSpec, experiment: ExperimentSpec
    ) -> PointContext:
        bins = dataset.bins()
        return PointContext(
            bins, load_gold(dataset, serving.gold), serving, experiment.eval,
            float(dataset.manifest["instrument"]["tick_size"]),
            np.where(bins["valid"], bins["mid"], 0.0),
        )  # fmt: skip

    def trades(self, run: dict[str, Any]) -> dict[str, Any]:
        """A stored run's trades again (the evaluation is deterministic): each trade's
        entry and exit bins and times, direction, exit reason and PnL in ticks, with the
        cumulative PnL and its drawdown (the run detail's chart)."""
        experiment, serving, _ = self.tree.chain(str(run["experiment"]))
        dataset = self.datasets.open(str(run["dataset_id"]))
        context = self._context(dataset, serving, experiment)
        made = point_trades(context, RunPoint(str(run["run_id"]), dict(run["params"])))
        pnl = np.cumsum(made.pnl_ticks)
        ends = context.bins["bin_end_ns"]
        return {
            "run_id": run["run_id"],
            "entry_ns": [int(ends[i]) for i in made.entry],
            "exit_ns": [int(ends[i]) for i in made.exit],
            "direction": made.direction.tolist(),
            "exit_reason": made.reason.tolist(),
            "pnl_ticks": made.pnl_ticks.tolist(),
            "cumulative_pnl_ticks": pnl.tolist(),
            "drawdown_ticks": (pnl - np.maximum.accumulate(pnl)).tolist() if pnl.size else [],
        }
