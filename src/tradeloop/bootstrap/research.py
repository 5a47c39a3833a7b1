"""The research commands' wiring: where datasets and results live, and which MBO files a
pipeline reads when it names none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tradeloop.bootstrap import mbo as mbo_wiring
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.results_db import ResultsDB
from tradeloop.settings import Settings


def dataset_store(settings: Settings) -> DatasetStore:
    return DatasetStore(settings.home / "lake" / "research" / "datasets")


def results_db(settings: Settings) -> ResultsDB:
    return ResultsDB(settings.home / "lake" / "research" / "harness" / "results")


def files_of(settings: Settings) -> Callable[[InstrumentConfig], list[Path]]:
    return lambda instrument: mbo_wiring.mbo_files(settings, instrument)
