"""Datasets, the results store and the runner on the bundled ES day: a dataset is written
once and found again by its inputs, its files checked on every read; the runner's metrics
are those of evaluating each point directly; a second run of the same experiment stores
nothing new; concurrent writers to the results store lose no row."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.databento.mbo_file import DatabentoSource
from tradeloop.core.errors import ConfigError, DataError
from tradeloop.research.config_tree import load_tree
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.gold_builder import gold_for_bins
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.runner import ExperimentRunner
from tradeloop.research.signals import composite_threshold
from tradeloop.research.tpsl import evaluate, metrics
from tradeloop.usecases.research_datasets import generate_dataset

ROOT = Path(__file__).resolve().parents[3]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
NOW = 1_800_000_000_000_000_000


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "research" / "configs", tmp_path / "research" / "configs")
    shutil.copytree(ROOT / "config" / "instruments", tmp_path / "config" / "instruments")
    pipeline = tmp_path / "research" / "configs" / "pipelines" / "es_evening.yaml"
    pipeline.write_text(
        pipeline.read_text().replace("2023-12-26T00:00:00Z", "2023-12-25T23:15:00Z")
    )
    return tmp_path


def _generate(project: Path, store: DatasetStore):  # type: ignore[no-untyped-def]
    tree = load_tree(project / "research" / "configs")
    return generate_dataset(tree, "es_evening", DatabentoSource(), store, lambda _: [DAY])


def test_dataset_when_generated_twice_then_written_once_with_its_manifest(project: Path) -> None:
    store = DatasetStore(project / "datasets")
    first, created = _generate(project, store)
    again, created_again = _generate(project, store)
    assert (created, created_again) == (True, False)
    assert first.id == again.id
    assert sorted(p.name for p in first.path.iterdir()) == [
        "bins.parquet", "checksums.json", "grid_clean.parquet", "manifest.json",
    ]  # fmt: skip
    manifest = first.manifest
    assert manifest["rows"]["bins.parquet"] == 900  # 15 minutes of 1 s bins
    assert manifest["rows"]["grid_clean.parquet"] == 41 * int(first.bins()["valid"].sum())
    assert manifest["sources"][0]["file"] == DAY.name
    assert [p.name for p in (project / "datasets").iterdir()] == [first.id]  # nothing aside


def test_dataset_when_a_file_changed_then_read_refused(project: Path) -> None:
    dataset, _ = _generate(project, DatasetStore(project / "datasets"))
    with (dataset.path / "bins.parquet").open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(DataError, match=r"bins\.parquet does not match its checksum"):
        DatasetStore(project / "datasets").open(dataset.id)
    with pytest.raises(DataError, match="no dataset 'nope'"):
        DatasetStore(project / "datasets").open("nope")


def test_dataset_id_when_the_pipeline_changes_then_another_dataset(project: Path) -> None:
    store = DatasetStore(project / "datasets")
    first, _ = _generate(project, store)
    pipeline = project / "research" / "configs" / "pipelines" / "es_evening.yaml"
    pipeline.write_text(
        pipeline.read_text().replace("grid_half_width_ticks: 20", "grid_half_width_ticks: 10")
    )
    second, created = _generate(project, store)
    assert created
    assert second.id != first.id


def test_runner_when_run_then_each_points_metrics_are_its_evaluation_and_stored_once(
    project: Path,
) -> None:
    tree = load_tree(project / "research" / "configs")
    store = DatasetStore(project / "datasets")
    dataset, _ = _generate(project, store)
    results = ResultsDB(project / "results")
    runner = ExperimentRunner(tree, store, results, lambda: NOW)
    result = runner.run("es_composite_sweep", dataset.id)
    assert len(result.runs) == 24
    assert result.stored == 24
    assert sum(r["trades"] for r in result.runs) > 0
    # one point by hand: the serving's gold, its signal, the evaluation
    serving = tree.serving("es_composite")
    bins = dataset.bins()
    gold = gold_for_bins(dataset, serving.gold)
    point = next(r for r in result.runs if r["params"] == {
        "eval.sl_ticks": 8.0, "eval.tp_ticks": 12.0, "signal.threshold": 0.02})  # fmt: skip
    signal = composite_threshold(bins, gold, {"threshold": 0.02})
    trades = evaluate(np.where(bins["valid"], bins["mid"], 0.0), signal, 0.25, tp_ticks=12,
                      sl_ticks=8, max_hold_bins=300, cooldown_bins=5)  # fmt: skip
    assert {k: point[k] for k in metrics(trades)} == metrics(trades)
    again = runner.run("es_composite_sweep", dataset.id)
    assert again.stored == 0
    assert [r["run_id"] for r in again.runs] == [r["run_id"] for r in result.runs]
    stored = results.runs()
    assert len(stored) == 24
    assert stored[0]["created_at_ns"] == NOW
    assert stored[0]["dataset_id"] == dataset.id


def test_runner_when_sweep_names_a_parameter_the_signal_lacks_then_refused(project: Path) -> None:
    experiment = project / "research" / "configs" / "experiments" / "es_composite_sweep.yaml"
    experiment.write_text(experiment.read_text().replace("signal.threshold", "signal.span"))
    tree = load_tree(project / "research" / "configs")
    store = DatasetStore(project / "datasets")
    dataset, _ = _generate(project, store)
    runner = ExperimentRunner(tree, store, ResultsDB(project / "results"), lambda: NOW)
    with pytest.raises(ConfigError, match="signal composite_threshold has no parameter 'span'"):
        runner.run("es_composite_sweep", dataset.id)
    assert not (project / "results" / "runs.parquet").exists()


def _writer(root: str, start: int) -> None:
    db = ResultsDB(Path(root))
    for i in range(start, start + 20):
        meta = {"run_id": f"run{i:04d}", "experiment": "e", "serving": "s", "pipeline": "p",
                "dataset_id": "d", "params": {"i": i}, "created_at_ns": i}  # fmt: skip
        score = {"trades": i, "hit_rate": 0.5, "mean_pnl_ticks": 1.0, "total_pnl_ticks": 1.0,
                 "max_drawdown_ticks": 0.0, "sharpe": 0.0}  # fmt: skip
        db.append([(meta, score)])


def test_results_when_processes_append_at_once_then_no_row_lost(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(tmp_path), k * 100)) for k in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    runs = ResultsDB(tmp_path).runs()
    assert len(runs) == 60
    assert len({r["run_id"] for r in runs}) == 60
    assert all(r["trades"] == json.loads(json.dumps(r["params"]))["i"] for r in runs)


def test_runner_when_on_a_dask_cluster_then_results_equal_the_in_process_run(
    project: Path,
) -> None:
    from tradeloop.research.dask_sweep import dask_executor

    tree = load_tree(project / "research" / "configs")
    store = DatasetStore(project / "datasets")
    dataset, _ = _generate(project, store)
    local = ExperimentRunner(tree, store, ResultsDB(project / "a"), lambda: NOW)
    spread = ExperimentRunner(tree, store, ResultsDB(project / "b"), lambda: NOW)
    expected = local.run("es_ema_random", dataset.id)
    with dask_executor(workers=2) as executor:
        got = spread.run("es_ema_random", dataset.id, executor=executor)
    assert got.runs == expected.runs
    assert ResultsDB(project / "b").runs() == ResultsDB(project / "a").runs()


def test_gold_file_when_built_then_the_runtimes_values_once_per_parameter_set(
    project: Path,
) -> None:
    import pyarrow.parquet as pq

    from tradeloop.features.book.gold import GoldConfig
    from tradeloop.research.gold_builder import build_gold

    tree = load_tree(project / "research" / "configs")
    dataset, _ = _generate(project, DatasetStore(project / "datasets"))
    serving = tree.serving("es_composite")
    path, created = build_gold(dataset, serving.gold)
    again, created_again = build_gold(dataset, serving.gold)
    other, _ = build_gold(dataset, GoldConfig())
    assert (created, created_again, again) == (True, False, path)
    assert other != path
    table = pq.read_table(path)
    expected = gold_for_bins(dataset, serving.gold)
    for name, values in expected.items():
        np.testing.assert_array_equal(table.column(name).to_numpy(), values)
    DatasetStore(project / "datasets").open(dataset.id)  # the dataset's own files untouched


def test_online_sim_when_a_promoted_run_replays_through_the_live_path_then_equal(
    project: Path,
) -> None:
    from tradeloop.research.serving_registry import ServingRegistry
    from tradeloop.store.sql.engine import open_engine
    from tradeloop.store.sql.migrate import upgrade
    from tradeloop.store.sql.serving_activations import SqlServingActivations
    from tradeloop.usecases.research_online_sim import online_sim

    tree = load_tree(project / "research" / "configs")
    store = DatasetStore(project / "datasets")
    dataset, _ = _generate(project, store)
    results = ResultsDB(project / "results")
    ExperimentRunner(tree, store, results, lambda: NOW).run("es_composite_sweep", dataset.id)
    best = max(results.runs(), key=lambda r: r["trades"])
    engine = open_engine(f"sqlite:///{project / 'db.sqlite'}")
    upgrade(engine)
    registry = ServingRegistry(tree, SqlServingActivations(engine))
    published, _ = registry.promote(best, dataset.manifest, "es_live", "ana", "test", NOW)
    result = online_sim(registry.resolve("es_live"), tree, DatabentoSource(), lambda _: [DAY])
    assert result["equal"] is True
    assert result["bins"] == 900
    assert result["live"]["trades"] == best["trades"] > 0
    # a snapshot whose numbers the live path does not reproduce is reported, not hidden
    skewed = published.model_copy(
        update={"runtime_snapshot": {**published.runtime_snapshot,
                                     "metrics": {**published.runtime_snapshot["metrics"],
                                                 "trades": best["trades"] + 1}}}
    )  # fmt: skip
    assert online_sim(skewed, tree, DatabentoSource(), lambda _: [DAY])["equal"] is False
