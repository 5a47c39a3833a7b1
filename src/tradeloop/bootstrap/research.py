"""The research commands' wiring: where datasets and results live, and which MBO files a
pipeline reads when it names none."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tradeloop.bootstrap import mbo as mbo_wiring
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.research.config_tree import ConfigTree
from tradeloop.research.control_plane import ControlPlane
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.jobs import JobQueue, JobStore
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.serving_registry import ServingRegistry
from tradeloop.research.workspaces import Workspaces
from tradeloop.settings import Settings
from tradeloop.usecases.mbo_stream import LiveSessionLog, ServingCatalog

log = logging.getLogger(__name__)


def dataset_store(settings: Settings) -> DatasetStore:
    return DatasetStore(settings.home / "lake" / "research" / "datasets")


def results_db(settings: Settings) -> ResultsDB:
    return ResultsDB(settings.home / "lake" / "research" / "harness" / "results")


def files_of(settings: Settings) -> Callable[[InstrumentConfig], list[Path]]:
    return lambda instrument: mbo_wiring.mbo_files(settings, instrument)


def serving_registry(settings: Settings, tree: ConfigTree) -> ServingRegistry:
    """Published servings in the tree's serving_versions/, aliases in the database."""
    from tradeloop.bootstrap.database import open_database
    from tradeloop.store.sql.serving_activations import SqlServingActivations

    return ServingRegistry(tree, SqlServingActivations(open_database(settings)))


def serving_catalog(settings: Settings, instrument: InstrumentConfig) -> ServingCatalog:
    """What ``?serving=`` may name on the stream: the registry's servings when this
    project has a research tree and the database opens, else the instrument's own (said
    once in the log: the stream runs without the control plane's database)."""
    from tradeloop.core.errors import ConfigError
    from tradeloop.research.config_tree import DEFAULT_ROOT, load_tree
    from tradeloop.usecases.mbo_stream import InstrumentServing, RegistryServing

    try:
        return RegistryServing(instrument, serving_registry(settings, load_tree(DEFAULT_ROOT)))
    except (ConfigError, OSError, SQLAlchemyError) as exc:
        log.warning("stream without the serving registry (%s): only ?serving=default", exc)
        return InstrumentServing(instrument)


def workspaces(settings: Settings) -> Workspaces:
    """The project database's workspaces (migrated on open)."""
    import time

    from tradeloop.bootstrap.database import open_database
    from tradeloop.store.sql.workspaces import SqlWorkspaces

    return Workspaces(SqlWorkspaces(open_database(settings)), time.time_ns)


def live_session_log(settings: Settings) -> LiveSessionLog | None:
    """Where the stream records its clients' sessions: the project database, or None when
    it does not open (said in the log: the stream serves without the records)."""
    from tradeloop.bootstrap.database import open_database
    from tradeloop.core.errors import ConfigError
    from tradeloop.store.sql.live_sessions import SqlLiveSessions

    try:
        return SqlLiveSessions(open_database(settings))
    except (ConfigError, OSError, SQLAlchemyError) as exc:
        log.warning("stream sessions not recorded (%s)", exc)
        return None


def control_plane(
    settings: Settings, engine: Engine
) -> tuple[ControlPlane, Callable[[], None] | None]:
    """The /v1 control plane's parts, and a function that starts an in-process job worker
    when jobs have no Redis to go through (None when they do: run `tradeloop research
    worker` processes)."""
    import time

    from tradeloop.research.config_tree import DEFAULT_ROOT, load_tree
    from tradeloop.research.jobs import InProcessJobQueue
    from tradeloop.research.runner import ExperimentRunner
    from tradeloop.store.sql.job_store import SqlJobStore
    from tradeloop.store.sql.serving_activations import SqlServingActivations

    results = results_db(settings)

    def runner_for() -> ExperimentRunner:
        return ExperimentRunner(load_tree(DEFAULT_ROOT), dataset_store(settings), results,
                                time.time_ns)  # fmt: skip

    def registry_for() -> ServingRegistry:
        return ServingRegistry(load_tree(DEFAULT_ROOT), SqlServingActivations(engine))

    store = SqlJobStore(engine)
    queue: JobQueue | None = job_queue(settings)
    start: Callable[[], None] | None = None
    if queue is None:
        queue = InProcessJobQueue()
        start = worker_starter(settings, store, queue, runner_for)
    from tradeloop.research.modeling_session import ModelingStudio
    from tradeloop.store.sql.modeling_sessions import SqlModelingSessions

    def studio_for() -> ModelingStudio:
        return ModelingStudio(
            SqlModelingSessions(engine), DEFAULT_ROOT, results, runner_for, registry_for,
            lambda tree, pipeline: pipeline_dataset(settings, tree, pipeline), time.time_ns,
        )  # fmt: skip

    from tradeloop.store.sql.workspaces import SqlWorkspaces

    plane = ControlPlane(results, store, queue, runner_for, registry_for, time.time_ns, studio_for,
                         Workspaces(SqlWorkspaces(engine), time.time_ns))  # fmt: skip
    return plane, start


def job_queue(settings: Settings) -> JobQueue | None:
    """Jobs through Redis Streams when TRADELOOP_REDIS_URL answers; None otherwise (said
    in the log: jobs then stay in the API's process and are lost when it ends)."""
    from tradeloop.core.errors import StorageError

    if settings.redis_url is None:
        log.warning("no TRADELOOP_REDIS_URL: research jobs run inside the API process")
        return None
    from tradeloop.adapters.redis.job_queue import RedisJobQueue

    try:
        return RedisJobQueue(settings.redis_url.get_secret_value())
    except StorageError as exc:
        log.warning("%s; research jobs run inside the API process", exc)
        return None


def worker_starter(
    settings: Settings, store: JobStore, queue: JobQueue, runner_for: Callable[[], Any]
) -> Callable[[], None]:
    """A function starting a daemon thread that works the queue."""
    import threading

    from tradeloop.research.jobs import run_job

    def dataset_for(experiment: str) -> str:
        return default_dataset(settings, runner_for().tree, experiment)

    def start() -> None:
        stop = threading.Event()

        def work() -> None:
            queue.work(lambda job_id: run_job(job_id, store, runner_for, dataset_for), stop, "api")

        threading.Thread(target=work, name="research-jobs", daemon=True).start()

    return start


def default_dataset(settings: Settings, tree: ConfigTree, experiment: str) -> str:
    """The dataset of the experiment's pipeline, generated when it is not there yet."""
    return pipeline_dataset(settings, tree, tree.chain(experiment)[2].name)


def pipeline_dataset(settings: Settings, tree: ConfigTree, pipeline: str) -> str:
    """The pipeline's dataset, generated when it is not there yet."""
    from tradeloop.usecases.research_datasets import generate_dataset

    made, _ = generate_dataset(
        tree, pipeline, mbo_wiring.mbo_source(), dataset_store(settings), files_of(settings),
        cache=mbo_wiring.book_cache(settings),
    )  # fmt: skip
    return made.id
