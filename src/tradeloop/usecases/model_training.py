"""Train the pivot-event models from the lake and register them as one candidate version."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.core.time import iso_from_ns
from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.models.event_config import EventTrainConfig
from tradeloop.models.event_models import (
    EVENT_MODELS_NAME,
    EventModel,
    score_on_window,
    train_event_models,
)
from tradeloop.registry.model_card import render_model_card
from tradeloop.registry.registry import ModelRegistry
from tradeloop.serving.model_set import ModelSet, load_model_set
from tradeloop.store.lake import read_training_view

MODEL_CARD_FILE = "MODEL_CARD.md"
MIN_COMPARISON_ROWS = 50


@dataclass(frozen=True, slots=True)
class TrainOutcome:
    """What one training run produced and registered."""

    version_id: str | None
    models: list[EventModel]
    failures: dict[str, str]
    aborted: bool
    compared_with: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)


def feature_ranges(frame: pl.DataFrame) -> dict[str, list[float | None]]:
    """Per feature, the training minimum and maximum (for the scorer's out-of-range flag)."""
    ranges: dict[str, list[float | None]] = {}
    for name in EVENT_SCHEMA.names:
        column = frame[name].cast(pl.Float64).drop_nulls().drop_nans()
        ranges[name] = [float(column.min()), float(column.max())] if len(column) else [None, None]  # type: ignore[arg-type]
    return ranges


def _active_model_set(registry: ModelRegistry) -> ModelSet | None:
    active_id = registry.resolve(EVENT_MODELS_NAME, "active")
    if active_id is None:
        return None
    files, manifest = registry.load(active_id)
    try:
        return load_model_set(files, manifest, EVENT_SCHEMA)
    except DataError:
        return None  # another feature version: the governance gate reports the change


def _compare(frame: pl.DataFrame, models: list[EventModel], active: ModelSet) -> dict[str, Any]:
    by_key = {(m.target, m.horizon): m for m in active.models}
    entries = active.manifest.get("models", {})
    comparison = {}
    for model in models:
        served = by_key.get((model.target, model.horizon))
        if served is None:
            continue
        # Only rows the active model never saw: anything else flatters it.
        metrics = score_on_window(
            frame, model, served.predict, entries[served.filename], after_ns=active.trained_end_ns
        )
        if metrics["samples"] < MIN_COMPARISON_ROWS:
            continue  # too few unseen rows: the gate falls back to the active's own OOS figures
        comparison[model.filename] = {
            "model_version_id": active.model_version_id,
            "metrics": metrics,
        }
    return comparison


def train_and_register(
    registry: ModelRegistry,
    lake_root: Path,
    config: EventTrainConfig,
    *,
    allow_partial: bool,
    on_model: Callable[[str, str | None], None] | None = None,
) -> TrainOutcome:
    """Train every target x horizon, compare with the active version on the same windows,
    and register ONE immutable version with alias ``candidate`` (all or nothing unless
    ``allow_partial``)."""
    try:
        frame = read_training_view(lake_root)
    except FileNotFoundError as exc:
        raise DataError(str(exc)) from None
    if frame.is_empty():
        raise DataError(f"the training view in {lake_root} is empty; run labels build + export")
    return register_event_models(
        registry, frame, config, allow_partial=allow_partial, on_model=on_model
    )


def register_event_models(
    registry: ModelRegistry,
    frame: pl.DataFrame,
    config: EventTrainConfig,
    *,
    allow_partial: bool,
    on_model: Callable[[str, str | None], None] | None = None,
) -> TrainOutcome:
    """Train on ``frame`` (training_view rows) and register the candidate version."""
    models, failures = train_event_models(frame, config, on_model)
    if not models or (failures and not allow_partial):
        return TrainOutcome(None, models, failures, aborted=True)
    active = _active_model_set(registry)
    comparison = _compare(frame, models, active) if active else {}
    entries = {m.filename: m.manifest() for m in models}
    for filename, versus in comparison.items():
        entries[filename]["vs_active"] = versus
    trained_end_ns = max(m.data_end_ns for m in models)
    data_start_ns = min(m.data_start_ns for m in models)
    manifest: dict[str, Any] = {
        "kind": "pivot-event-models",
        "created_at": iso_from_ns(time.time_ns()),
        "trained_end_ns": trained_end_ns,
        "trained_end": iso_from_ns(trained_end_ns),
        "data_start": iso_from_ns(data_start_ns),
        "data_end": iso_from_ns(trained_end_ns),
        "symbols": sorted(frame["symbol"].unique().to_list()),
        "feature_version": EVENT_SCHEMA.version,
        "feature_schema_hash": EVENT_SCHEMA.schema_hash,
        "targets": sorted({m.target for m in models}),
        "horizons": sorted({m.horizon for m in models}),
        "thresholds": {
            m.filename: {"tau_entry": m.tau_entry, "tau_hold": m.tau_hold}
            for m in models
            if m.classify
        },
        "feature_ranges": feature_ranges(frame),
        "models": entries,
        "failures": failures,
        "train_config": config.model_dump(mode="json"),
        "compared_with_active": active.model_version_id if active else None,
    }
    files = {m.filename: m.onnx_bytes for m in models}
    files[MODEL_CARD_FILE] = render_model_card(EVENT_MODELS_NAME, manifest).encode()
    version = registry.register(EVENT_MODELS_NAME, files, manifest)
    registry.promote(
        EVENT_MODELS_NAME,
        version.model_version_id,
        "candidate",
        actor="train",
        reason="new training run",
    )
    return TrainOutcome(
        version.model_version_id,
        models,
        failures,
        aborted=False,
        compared_with=active.model_version_id if active else None,
        manifest=version.manifest,
    )


def summarize(models: list[EventModel]) -> list[dict[str, Any]]:
    """One row per model for tables and --json."""
    rows = []
    for m in models:
        key = "brier" if m.classify else "mae"
        rows.append(
            {
                "name": m.name,
                "file": m.filename,
                "algorithm": m.algorithm,
                "rows": m.rows,
                "metric": key,
                "value": m.metrics[key],
                "baseline": m.baseline[key],
                "metrics": m.metrics,
                "baseline_metrics": m.baseline,
                "tau_entry": m.tau_entry,
                "tau_hold": m.tau_hold,
                "parity_max_abs": m.parity_max_abs,
            }
        )
    return rows
