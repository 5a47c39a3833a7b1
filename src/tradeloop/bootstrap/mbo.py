"""The MBO commands' wiring: the instrument file, the raw files in the lake, and the
Databento adapters. None of it needs the SQL database, so a first `tradeloop mbo book`
works on a machine where nothing else has run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tradeloop.features.book.instrument import InstrumentConfig, load_instrument
from tradeloop.features.book.ports import MboSource, MboWriter
from tradeloop.settings import Settings
from tradeloop.store.book_cache import BookCache

if TYPE_CHECKING:
    from tradeloop.usecases.mbo_stream import BinMessage, StreamRequest

# real CME and Nasdaq MBO records shipped with tradeloop (origin and licence: README there)
SHIPPED_MBO = Path(__file__).resolve().parent.parent / "data" / "mbo"


def instrument(settings: Settings, path: Path | None) -> tuple[InstrumentConfig, Path]:
    """The instrument file: ``path``, else TRADELOOP_INSTRUMENT_CONFIG, else the project's
    config/instruments/esh4.yaml, else the one shipped with the bundled day."""
    chosen = path or settings.instrument_config
    if chosen is None:
        project = Path("config/instruments/esh4.yaml")
        chosen = project if project.exists() else SHIPPED_MBO / "instruments" / "esh4.yaml"
    return load_instrument(chosen), chosen


def mbo_files(settings: Settings, config: InstrumentConfig) -> list[Path]:
    """The instrument's raw files in the lake; for the bundled ES day with none
    imported, the bundled file."""
    from tradeloop.store.mbo_lake import stored_files

    files = stored_files(settings.home / "lake", config.product_type, config.lake_root)
    if not files and (config.symbol, config.dataset) == ("ESH4", "GLBX.MDP3"):
        files = [SHIPPED_MBO / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"]
    return files


def mbo_source() -> MboSource:
    """Market-by-order files (Databento DBN)."""
    from tradeloop.adapters.databento.mbo_file import DatabentoSource

    return DatabentoSource()


def mbo_writer() -> MboWriter:
    """Writes MBO events as DBN files (through databento-dbn)."""
    from tradeloop.adapters.databento.mbo_writer import write_mbo

    return write_mbo


def book_cache(settings: Settings) -> BookCache:
    """Saved warmed-up books (regenerable: the folder may be deleted at any time)."""
    return BookCache(settings.home / "lake" / "cache" / "book_engine")


def stream_replay(
    settings: Settings, instrument: InstrumentConfig, files: list[Path]
) -> Callable[[StreamRequest, threading.Event], Iterator[BinMessage]]:
    """What the stream runs per client: a paced replay of the instrument's files (the
    book cache shared with ``mbo replay``)."""
    from tradeloop.usecases.mbo_stream import bin_messages

    source, cache = mbo_source(), book_cache(settings)

    def replay(request: StreamRequest, stop: threading.Event) -> Iterator[BinMessage]:
        return bin_messages(source, files, instrument, request, stop, cache)

    return replay
