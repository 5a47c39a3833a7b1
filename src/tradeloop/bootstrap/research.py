"""The research commands' wiring: where datasets and results live, and which MBO files a
pipeline reads when it names none."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from tradeloop.bootstrap import mbo as mbo_wiring
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.research.config_tree import ConfigTree
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.serving_registry import ServingRegistry
from tradeloop.settings import Settings
from tradeloop.usecases.mbo_stream import ServingCatalog

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
