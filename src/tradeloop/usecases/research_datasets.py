"""``tradeloop research generate``: a pipeline's dataset from the instrument's MBO files
(replayed through the book into the grid), stored once under its content id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tradeloop.core.config import load_yaml_mapping, parse_config
from tradeloop.core.errors import ConfigError
from tradeloop.core.time import parse_ns
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.features.book.ports import MboSource
from tradeloop.research.config_tree import ConfigTree
from tradeloop.research.datasets import Dataset, DatasetStore, dataset_id, file_sha256
from tradeloop.research.specs import PipelineSpec
from tradeloop.store.book_cache import BookCache
from tradeloop.usecases.mbo_replay import ReplayProgress, grid_chunks


def pipeline_instrument(tree: ConfigTree, pipeline: PipelineSpec) -> InstrumentConfig:
    """The pipeline's instrument file with the pipeline's grid overrides."""
    path = tree.project / pipeline.instrument
    instrument = parse_config(InstrumentConfig, load_yaml_mapping(path), str(path))
    changes = {
        k: v
        for k, v in (
            ("cell_width_ms", pipeline.cell_width_ms),
            ("grid_half_width_ticks", pipeline.grid_half_width_ticks),
        )
        if v is not None
    }
    return instrument.with_changes(**changes) if changes else instrument


def generate_dataset(
    tree: ConfigTree,
    pipeline_name: str,
    source: MboSource,
    store: DatasetStore,
    files_of: Callable[[InstrumentConfig], list[Path]],
    *,
    cache: BookCache | None = None,
    on_events: Callable[[int], None] | None = None,
) -> tuple[Dataset, bool]:
    """The pipeline's dataset: found when the same inputs made it before, else replayed
    and written (aside, then renamed). (dataset, whether it was written now)."""
    pipeline = tree.pipeline(pipeline_name)
    instrument = pipeline_instrument(tree, pipeline)
    files = [tree.project / f for f in pipeline.files] if pipeline.files else files_of(instrument)
    if not files:
        raise ConfigError(
            f"pipeline {pipeline.name}: no MBO files for {instrument.symbol}. Fix: tradeloop "
            "mbo import FILE, or list files: in the pipeline"
        )
    sources = [(path.name, file_sha256(path)) for path in files]
    ident = dataset_id(pipeline, instrument, sources)
    if store.exists(ident):
        return store.open(ident), False
    from_ns = parse_ns(pipeline.start) if pipeline.start else None
    to_ns = parse_ns(pipeline.end) if pipeline.end else None
    manifest = {
        "pipeline": pipeline.model_dump(mode="json"),
        "instrument": instrument.model_dump(mode="json"),
        "sources": [{"file": name, "sha256": digest} for name, digest in sources],
    }
    grids = grid_chunks(
        source, files, instrument, from_ns=from_ns, to_ns=to_ns, cache=cache,
        progress=ReplayProgress(on_events),
    )  # fmt: skip
    return store.write(ident, manifest, grids, 2 * instrument.grid_half_width_ticks + 1)
