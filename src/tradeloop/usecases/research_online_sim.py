"""``tradeloop research online-sim``: a published serving replayed through the live path
(the stream's bins, one at a time, gold from the live ``GoldRuntime`` bin by bin), its
signal and TP/SL evaluation on what the live path produced, and the metrics compared
with the offline run it was promoted from: train/serve parity, checked end to end."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.core.time import parse_ns
from tradeloop.features.book.gold import GoldRuntime
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.features.book.ports import MboSource
from tradeloop.research.config_tree import ConfigTree
from tradeloop.research.datasets import BIN_COLS
from tradeloop.research.signals import signal_function
from tradeloop.research.specs import PipelineSpec, PublishedServingSpec
from tradeloop.research.tpsl import evaluate, metrics
from tradeloop.usecases.mbo_stream import StreamRequest, paced_bins


def online_sim(
    published: PublishedServingSpec,
    tree: ConfigTree,
    source: MboSource,
    files_of: Callable[[InstrumentConfig], list[Path]],
    on_bin: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    snapshot = published.runtime_snapshot
    pipeline = PipelineSpec.model_validate(snapshot["pipeline"])
    instrument = InstrumentConfig.model_validate(snapshot["instrument"])
    files = [tree.project / f for f in pipeline.files] if pipeline.files else files_of(instrument)
    request = StreamRequest(
        speed=None,
        from_ns=parse_ns(pipeline.start) if pipeline.start else None,
        to_ns=parse_ns(pipeline.end) if pipeline.end else None,
    )
    runtime = GoldRuntime(
        published.spec.gold, instrument.tick_size, instrument.grid_half_width_ticks
    )
    bins: dict[str, list[Any]] = {name: [] for name in BIN_COLS}
    gold: dict[str, list[Any]] = {}
    for rows in paced_bins(source, files, instrument, request, threading.Event()):
        for name in BIN_COLS:
            bins[name].append(rows[name][0])
        for name, values in runtime.update(rows).items():  # live: one bin at a time
            gold.setdefault(name, []).append(values[0])
        if on_bin is not None:
            on_bin(1)
    columns = {name: np.array(values) for name, values in bins.items()}
    gold_columns = {name: np.array(values) for name, values in gold.items()}
    signal = signal_function(published.spec.signal.name)(
        columns, gold_columns, published.spec.signal.resolved()
    )
    eval_params = snapshot["eval"]
    trades = evaluate(
        np.where(columns["valid"], columns["mid"], 0.0), signal, instrument.tick_size,
        tp_ticks=eval_params["tp_ticks"], sl_ticks=eval_params["sl_ticks"],
        max_hold_bins=int(eval_params["max_hold_bins"]),
        cooldown_bins=int(eval_params["cooldown_bins"]),
    )  # fmt: skip
    live = metrics(trades)
    offline = snapshot.get("metrics", {})
    equal = all(
        math.isclose(float(live[key]), float(value), rel_tol=1e-9, abs_tol=1e-9)
        for key, value in offline.items()
    )
    return {"serving_id": published.serving_id, "bins": len(columns["bin_end_ns"]),
            "live": live, "offline": offline, "equal": equal}  # fmt: skip
