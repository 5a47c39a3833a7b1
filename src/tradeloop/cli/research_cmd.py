"""``tradeloop research``: the config tree, datasets, experiment runs and their results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors

app = typer.Typer(
    help=(
        "Research on order-book grids: validate the config tree, generate datasets, run "
        "experiment sweeps with TP/SL evaluation, compare runs.\n\n"
        "Examples:\n\n"
        "  tradeloop research validate-configs\n\n"
        "  tradeloop research generate --pipeline es_evening\n\n"
        "  tradeloop research run --experiment es_composite_sweep\n\n"
        "  tradeloop research compare 3f2a9c1e 9b0d77aa\n\n"
        "Exit codes: 0 ok, 1 the config tree has problems, 2 bad input."
    ),
    no_args_is_help=True,
)
ConfigsOption = Annotated[
    Path, typer.Option("--configs", help="the research config tree (default research/configs)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
DEFAULT_CONFIGS = Path("research/configs")


@app.command("validate-configs")
def validate_configs(configs: ConfigsOption = DEFAULT_CONFIGS, as_json: JsonOption = False) -> None:
    """Check every YAML file of the tree (keys, values, names, references); each problem
    as file:line: key: reason. Fix. Exit 1 when there is any.

    Example: tradeloop research validate-configs --configs research/configs
    """
    from tradeloop.research.config_tree import validate_tree

    with handled_errors():
        tree, problems = validate_tree(configs)
    counts = {kind: len(specs) for kind, specs in tree.specs.items()}
    if as_json:
        print(json.dumps({"valid": not problems, "specs": counts, "problems": problems}, indent=2))
    else:
        console = Console(highlight=False, stderr=bool(problems))
        for problem in problems:
            console.print(problem, markup=False)
        if not problems:
            listed = ", ".join(f"{n} {kind}" for kind, n in counts.items())
            console.print(f"{configs}: valid ({listed})", markup=False)
    if problems:
        raise typer.Exit(1)


@app.command("generate")
def generate(
    pipeline: Annotated[str, typer.Option(help="the PipelineSpec to make a dataset of")],
    configs: ConfigsOption = DEFAULT_CONFIGS,
    as_json: JsonOption = False,
) -> None:
    """Make the pipeline's dataset (bins.parquet, grid_clean.parquet, manifest.json,
    checksums.json) under var/lake/research/datasets/<id>/; the same inputs again find it
    and write nothing.

    Example: tradeloop research generate --pipeline es_evening
    """
    from tradeloop.bootstrap import mbo as mbo_wiring
    from tradeloop.bootstrap import research as wiring
    from tradeloop.cli.progress import CommandProgress
    from tradeloop.research.config_tree import load_tree
    from tradeloop.settings import load_settings
    from tradeloop.usecases.research_datasets import generate_dataset

    with handled_errors():
        settings = load_settings()
        tree = load_tree(configs)
        with CommandProgress("generate (events)", 0, quiet=as_json) as progress:
            dataset, created = generate_dataset(
                tree, pipeline, mbo_wiring.mbo_source(), wiring.dataset_store(settings),
                wiring.files_of(settings), cache=mbo_wiring.book_cache(settings),
                on_events=lambda n: progress.advance(n),
            )  # fmt: skip
    rows = dataset.manifest["rows"]
    payload = {"dataset": dataset.id, "created": created, "path": str(dataset.path), **rows}
    if as_json:
        print(json.dumps(payload, indent=2))
        return
    what = "written" if created else "already there (same inputs)"
    Console(highlight=False).print(
        f"dataset {dataset.id} of {pipeline}: {rows['bins.parquet']:,} bins, "
        f"{rows['grid_clean.parquet']:,} grid rows; {what}: {dataset.path}",
        markup=False,
    )


@app.command("generate-gold")
def generate_gold(
    dataset: Annotated[str, typer.Option(help="the dataset id")],
    serving: Annotated[
        str | None, typer.Option(help="whose gold parameters (default: the defaults)")
    ] = None,
    configs: ConfigsOption = DEFAULT_CONFIGS,
    as_json: JsonOption = False,
) -> None:
    """Gold features of a dataset (pressure/vacuum variants, composite and its derivatives,
    state5_code, spectrum_score; one row per bin) into gold_grid.<key>.parquet beside it.

    Example: tradeloop research generate-gold --dataset 06397e4e76c5942a --serving es_composite
    """
    from tradeloop.bootstrap import research as wiring
    from tradeloop.features.book.gold import GoldConfig
    from tradeloop.research.config_tree import load_tree
    from tradeloop.research.gold_builder import build_gold
    from tradeloop.settings import load_settings

    with handled_errors():
        settings = load_settings()
        config = load_tree(configs).serving(serving).gold if serving else GoldConfig()
        path, created = build_gold(wiring.dataset_store(settings).open(dataset), config)
    if as_json:
        print(json.dumps({"path": str(path), "created": created}))
        return
    what = "written" if created else "already there"
    Console(highlight=False).print(f"gold {what}: {path}", markup=False)


@app.command("run")
def run(
    experiment: Annotated[str, typer.Option(help="the ExperimentSpec to run")],
    dataset: Annotated[
        str | None, typer.Option(help="dataset id (default: its pipeline's, made if missing)")
    ] = None,
    configs: ConfigsOption = DEFAULT_CONFIGS,
    top: Annotated[int, typer.Option(min=1, help="rows of the table")] = 10,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="run the points on a local Dask cluster")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="run the points on this Dask scheduler (tcp://host:8786)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the experiment's sweep: each point's signal evaluated with TP/SL and cooldown,
    the metrics appended to var/lake/research/harness/results/ (a point already stored is
    not stored again); the best points by total PnL as a table.

    Examples:

      tradeloop research run --experiment es_composite_sweep

      tradeloop research run --experiment es_ema_random --workers 2
    """
    from contextlib import nullcontext

    from tradeloop.bootstrap import mbo as mbo_wiring
    from tradeloop.bootstrap import research as wiring
    from tradeloop.cli.progress import CommandProgress
    from tradeloop.core.clock import WallClock
    from tradeloop.core.errors import ConfigError
    from tradeloop.research.config_tree import load_tree
    from tradeloop.research.dask_sweep import dask_executor
    from tradeloop.research.runner import ExperimentRunner, in_process
    from tradeloop.research.sweep import sweep_points
    from tradeloop.settings import load_settings
    from tradeloop.usecases.research_datasets import generate_dataset

    with handled_errors():
        if workers is not None and cluster is not None:
            raise ConfigError("--workers and --cluster: give one of them")
        settings = load_settings()
        tree = load_tree(configs)
        spec, _, pipeline = tree.chain(experiment)
        store = wiring.dataset_store(settings)
        if dataset is None:
            made, _ = generate_dataset(
                tree, pipeline.name, mbo_wiring.mbo_source(), store, wiring.files_of(settings),
                cache=mbo_wiring.book_cache(settings),
            )  # fmt: skip
            dataset = made.id
        runner = ExperimentRunner(tree, store, wiring.results_db(settings), WallClock().now_ns)
        total = len(sweep_points(spec.sweep))
        scaled = (
            dask_executor(workers=workers, address=cluster)
            if workers is not None or cluster is not None
            else nullcontext(in_process)
        )
        with scaled as executor, CommandProgress("runs", total, quiet=as_json) as progress:
            result = runner.run(
                experiment, dataset, executor=executor, on_point=lambda n: progress.advance(n)
            )
    ranked = sorted(result.runs, key=lambda r: r["total_pnl_ticks"], reverse=True)
    if as_json:
        print(json.dumps({"experiment": experiment, "dataset": dataset,
                          "stored": result.stored, "runs": ranked}, indent=2))  # fmt: skip
        return
    _runs_table(f"{experiment} on dataset {dataset}: top {min(top, len(ranked))} of "
                f"{len(ranked)} by total PnL", ranked[:top])  # fmt: skip
    Console(highlight=False).print(
        f"{result.stored} new runs stored ({len(ranked) - result.stored} were already there)",
        markup=False,
    )


@app.command("compare")
def compare(
    run_a: Annotated[str, typer.Argument(help="a run id (or a unique prefix)")],
    run_b: Annotated[str, typer.Argument(help="another run id")],
    as_json: JsonOption = False,
) -> None:
    """Two runs side by side: what they were and what they scored.

    Example: tradeloop research compare 3f2a9c1e 9b0d77aa
    """
    from tradeloop.bootstrap import research as wiring
    from tradeloop.core.errors import ConfigError
    from tradeloop.settings import load_settings

    with handled_errors():
        results = wiring.results_db(load_settings())
        runs = []
        for name in (run_a, run_b):
            found = results.run(name)
            if found is None:
                raise ConfigError(
                    f"run {name!r}: no such run, or the prefix is not unique. Fix: tradeloop "
                    "research run ... prints the run ids"
                )
            runs.append(found)
    if as_json:
        print(json.dumps({"a": runs[0], "b": runs[1]}, indent=2))
        return
    table = Table(title="compare")
    table.add_column("")
    for found in runs:
        table.add_column(found["run_id"], justify="right")
    keys = [k for k in runs[0] if k not in ("run_id", "params")]
    for key in sorted({*runs[0]["params"], *runs[1]["params"]}):
        table.add_row(key, *(_cell(r["params"].get(key)) for r in runs))
    for key in keys:
        if key == "created_at_ns":
            from tradeloop.core.time import iso_from_ns

            table.add_row("created", *(iso_from_ns(r[key]) for r in runs))
            continue
        table.add_row(key, *(_cell(r.get(key)) for r in runs))
    Console(highlight=False).print(table)


@app.command("promote")
def promote(
    run_id: Annotated[str, typer.Argument(help="the run (id or unique prefix)")],
    alias: Annotated[str, typer.Option(help="the alias to point at it, e.g. es_live")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")] = "promoted",
    configs: ConfigsOption = DEFAULT_CONFIGS,
    as_json: JsonOption = False,
) -> None:
    """Publish a run's serving (its signal parameters, with a runtime snapshot) as an
    immutable version in serving_versions/ and point --alias at it. The preflight runs
    first: a serving that would not run is refused and nothing is written.

    Example: tradeloop research promote 4dee0cab --alias es_live --reason "best Sharpe"
    """
    import getpass

    from tradeloop.bootstrap import research as wiring
    from tradeloop.core.clock import WallClock
    from tradeloop.core.errors import ConfigError
    from tradeloop.research.config_tree import load_tree
    from tradeloop.settings import load_settings

    with handled_errors():
        settings = load_settings()
        tree = load_tree(configs)
        run = wiring.results_db(settings).run(run_id)
        if run is None:
            raise ConfigError(
                f"run {run_id!r}: no such run, or the prefix is not unique. Fix: tradeloop "
                "research run ... prints the run ids"
            )
        manifest = wiring.dataset_store(settings).open(run["dataset_id"]).manifest
        registry = wiring.serving_registry(settings, tree)
        published, previous = registry.promote(
            run, manifest, alias, getpass.getuser(), reason, WallClock().now_ns()
        )
    payload = {"serving_id": published.serving_id, "alias": alias, "previous": previous}
    if as_json:
        print(json.dumps(payload))
        return
    Console(highlight=False).print(
        f"{alias} -> {published.name} {published.serving_id}"
        + (f" (was {previous})" if previous else ""),
        markup=False,
    )


@app.command("activate")
def activate(
    alias: Annotated[str, typer.Option(help="the alias to repoint")],
    serving: Annotated[str, typer.Option(help="a published serving id")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")],
    configs: ConfigsOption = DEFAULT_CONFIGS,
) -> None:
    """Point an alias at another published serving: the rollback (the versions are never
    changed, the repoint is audited).

    Example: tradeloop research activate --alias es_live --serving 1f0c... --reason drawdown
    """
    import getpass

    from tradeloop.bootstrap import research as wiring
    from tradeloop.core.clock import WallClock
    from tradeloop.research.config_tree import load_tree
    from tradeloop.settings import load_settings

    with handled_errors():
        settings = load_settings()
        registry = wiring.serving_registry(settings, load_tree(configs))
        previous = registry.activate(
            alias, serving, getpass.getuser(), reason, WallClock().now_ns()
        )
    Console(highlight=False).print(f"{alias} -> {serving} (was {previous})", markup=False)


@app.command("servings")
def servings(configs: ConfigsOption = DEFAULT_CONFIGS, as_json: JsonOption = False) -> None:
    """Published servings and the aliases pointing at them.

    Example: tradeloop research servings
    """
    from tradeloop.bootstrap import research as wiring
    from tradeloop.research.config_tree import load_tree
    from tradeloop.settings import load_settings

    with handled_errors():
        registry = wiring.serving_registry(load_settings(), load_tree(configs))
        versions = registry.versions()
        aliases = registry.activations.aliases()
    rows: list[dict[str, Any]] = [
        {"serving_id": v.serving_id, "name": v.name, "published_at": v.published_at,
         "aliases": sorted(a for a, s in aliases.items() if s == v.serving_id),
         "signal": v.runtime_snapshot.get("signal"), "run_id": v.runtime_snapshot.get("run_id")}
        for v in versions
    ]  # fmt: skip
    if as_json:
        print(json.dumps({"versions": rows, "aliases": aliases}, indent=2))
        return
    table = Table(title="published servings")
    for column in ("serving id", "name", "published", "aliases", "signal"):
        table.add_column(column)
    for row in rows:
        signal = ", ".join(f"{k}={v:g}" for k, v in (row["signal"] or {}).items())
        table.add_row(
            row["serving_id"], row["name"], row["published_at"], ", ".join(row["aliases"]), signal
        )
    Console(highlight=False).print(table)


@app.command("online-sim")
def online_sim(
    serving: Annotated[str, typer.Option(help="a serving alias or published id")],
    configs: ConfigsOption = DEFAULT_CONFIGS,
    as_json: JsonOption = False,
) -> None:
    """Replay the serving's range through the live path (the stream's bins, gold bin by
    bin), evaluate its signal there and compare with the offline run it was promoted
    from. Exit 1 when they differ (train/serve skew).

    Example: tradeloop research online-sim --serving es_live
    """
    from tradeloop.bootstrap import mbo as mbo_wiring
    from tradeloop.bootstrap import research as wiring
    from tradeloop.cli.progress import CommandProgress
    from tradeloop.research.config_tree import load_tree
    from tradeloop.settings import load_settings
    from tradeloop.usecases.research_online_sim import online_sim as simulate

    with handled_errors():
        settings = load_settings()
        tree = load_tree(configs)
        published = wiring.serving_registry(settings, tree).resolve(serving)
        with CommandProgress("online-sim (bins)", 0, quiet=as_json) as progress:
            result = simulate(
                published, tree, mbo_wiring.mbo_source(), wiring.files_of(settings),
                on_bin=lambda n: progress.advance(n),
            )  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        table = Table(title=f"{serving} ({result['serving_id']}): live path vs offline run")
        for column in ("metric", "live", "offline"):
            table.add_column(column, justify="right")
        for key, value in result["offline"].items():
            table.add_row(key, _cell(result["live"][key]), _cell(value))
        console = Console(highlight=False)
        console.print(table)
        verdict = "equal" if result["equal"] else "DIFFERENT (train/serve skew)"
        console.print(f"{result['bins']:,} bins through the live path: {verdict}", markup=False)
    if not result["equal"]:
        raise typer.Exit(1)


@app.command("gold-validate")
def gold_validate(dsl: Annotated[Path, typer.Argument(help="a Gold DSL YAML file")]) -> None:
    """Check a Gold DSL file: node kinds and parameters (ewm needs alpha), references,
    cycles (Kahn), refs only to silver columns, per-tick vs per-bin inputs. Exit 2 when
    wrong, naming the node.

    Example: tradeloop research gold-validate research/gold/vp.yaml
    """
    from tradeloop.features.dsl.gold_dsl import validate_dsl
    from tradeloop.research.gold_preview import load_dsl

    with handled_errors():
        spec = load_dsl(dsl)
        order = validate_dsl(spec)
    Console(highlight=False).print(
        f"{dsl}: valid, {len(order)} nodes, runs as: {' -> '.join(n.id for n in order)}",
        markup=False,
    )


@app.command("gold-preview")
def gold_preview(
    dsl: Annotated[Path, typer.Argument(help="a Gold DSL YAML file")],
    dataset: Annotated[str, typer.Option(help="the dataset id to run it on")],
    bins: Annotated[int, typer.Option(min=1, help="first valid bins to use")] = 500,
    as_json: JsonOption = False,
) -> None:
    """Run a Gold DSL file on the first bins of a dataset; each output's summary.

    Example: tradeloop research gold-preview research/gold/vp.yaml --dataset 06397e4e76c5942a
    """
    from tradeloop.bootstrap import research as wiring
    from tradeloop.research.gold_preview import load_dsl, preview_dsl
    from tradeloop.settings import load_settings

    with handled_errors():
        spec = load_dsl(dsl)
        found = wiring.dataset_store(load_settings()).open(dataset)
        result = preview_dsl(spec, found, bins)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    table = Table(title=f"{spec.name} on {dataset} (first {bins} bins)")
    for column in ("output", "mean", "std", "min", "max", "first values"):
        table.add_column(
            column, justify="left" if column in ("output", "first values") else "right"
        )
    for name, stats in result["outputs"].items():
        table.add_row(
            name, _cell(stats["mean"]), _cell(stats["std"]), _cell(stats["min"]),
            _cell(stats["max"]), " ".join(f"{v:.3g}" for v in stats["first"][:3]),
        )  # fmt: skip
    Console(highlight=False).print(table)


@app.command("gold-dsl")
def gold_dsl(
    serving: Annotated[
        str | None, typer.Option(help="whose gold parameters (default: the defaults)")
    ] = None,
    configs: ConfigsOption = DEFAULT_CONFIGS,
) -> None:
    """Print the VP force block of a serving's gold parameters as a Gold DSL file (the
    legacy config -> DSL); edit its parameters, validate and preview it.

    Example: tradeloop research gold-dsl --serving es_composite > research/gold/vp.yaml
    """
    import yaml

    from tradeloop.features.book.gold import GoldConfig
    from tradeloop.features.dsl.gold_compat import gold_config_to_dsl
    from tradeloop.research.config_tree import load_tree

    with handled_errors():
        config = load_tree(configs).serving(serving).gold if serving else GoldConfig()
        spec = gold_config_to_dsl(config, name=serving or "vp_force_block")
    print(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False), end="")


@app.command("worker")
def worker(
    name: Annotated[str | None, typer.Option(help="this worker's name (default host-pid)")] = None,
) -> None:
    """Run queued experiment jobs from Redis Streams (TRADELOOP_REDIS_URL) until Ctrl-C;
    several workers share the queue, and a job a dead worker held is claimed by another.
    Without Redis, jobs run inside `tradeloop serve api` and no worker is needed.

    Example: TRADELOOP_REDIS_URL=redis://127.0.0.1:6379/0 tradeloop research worker
    """
    import os
    import socket
    import threading

    from tradeloop.bootstrap import research as wiring
    from tradeloop.bootstrap.database import open_database
    from tradeloop.core.errors import ConfigError
    from tradeloop.research.jobs import run_job
    from tradeloop.settings import load_settings

    with handled_errors():
        settings = load_settings()
        queue = wiring.job_queue(settings)
        if queue is None:
            raise ConfigError(
                "no Redis to take jobs from (TRADELOOP_REDIS_URL unset or not answering). "
                "Fix: start Redis and set it, or let `tradeloop serve api` run the jobs"
            )
        plane, _ = wiring.control_plane(settings, open_database(settings))
        consumer = name or f"{socket.gethostname()}-{os.getpid()}"
        stop = threading.Event()
        Console(highlight=False, stderr=True).print(f"worker {consumer}: waiting for jobs")

        def handle(job_id: str) -> None:
            run_job(
                job_id, plane.jobs, plane.runner_for,
                lambda experiment: wiring.default_dataset(
                    settings, plane.runner_for().tree, experiment
                ),
            )  # fmt: skip

        try:
            queue.work(handle, stop, consumer)
        except KeyboardInterrupt:
            stop.set()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _runs_table(title: str, runs: list[dict[str, Any]]) -> None:
    table = Table(title=title, caption="PnL and drawdown in ticks; run: an id prefix for compare")
    for column in ("run", "params", "trades", "hit rate", "mean", "total", "max DD", "Sharpe"):
        table.add_column(
            column, justify="left" if column in ("run", "params") else "right",
            no_wrap=column == "run", min_width=18 if column == "params" else None,
        )  # fmt: skip
    for r in runs:
        params = " ".join(f"{k.partition('.')[2]}={v:g}" for k, v in r["params"].items())
        table.add_row(
            r["run_id"][:8], params, str(r["trades"]), f"{r['hit_rate']:.1%}",
            f"{r['mean_pnl_ticks']:.2f}", f"{r['total_pnl_ticks']:.1f}",
            f"{r['max_drawdown_ticks']:.1f}", f"{r['sharpe']:.2f}",
        )  # fmt: skip
    Console(highlight=False).print(table)
