"""Train the prediction curve on stored daily bars and register it (``tradeloop curve
train``); build a symbol's latest curve features (the scorer and the agent)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.core.time import iso_from_ns
from tradeloop.features.curve_features import CURVE_SCHEMA, compute_curve_features
from tradeloop.labels.forward_returns import forward_return_labels
from tradeloop.models.config import CurveConfig
from tradeloop.models.curve import TrainedCurve, train_curve
from tradeloop.models.curve_model import CURVE_MODEL_NAME, OUTPUTS, curve_filename
from tradeloop.registry.model_card import render_model_card
from tradeloop.registry.registry import ModelRegistry

BarsOf = Callable[[list[str]], pl.DataFrame]  # daily bars of these symbols, all history
OptionalRows = dict[str, pl.DataFrame | None]
MIN_SESSIONS = 253  # the longest window (252) plus the session itself


@dataclass(frozen=True, slots=True)
class CurveOutcome:
    version_id: str
    trained: TrainedCurve
    manifest: dict[str, Any]


def _split(bars: pl.DataFrame, symbols: list[str], config: CurveConfig) -> tuple[pl.DataFrame, ...]:
    have = set(bars["symbol"].unique().to_list()) if not bars.is_empty() else set()
    missing = [s for s in [*symbols, config.market, config.growth] if s not in have]
    if missing:
        raise DataError(
            f"no stored daily bars for {', '.join(sorted(set(missing)))}. Fix: tradeloop ingest "
            f"--tickers {','.join(sorted(set(missing)))} (the curve also needs the market "
            f"({config.market}) and growth ({config.growth}) series: config curve.market/growth)"
        )
    return (
        bars.filter(pl.col("symbol").is_in(symbols)),
        bars.filter(pl.col("symbol") == config.market),
        bars.filter(pl.col("symbol") == config.growth),
    )


def curve_features(
    bars_of: BarsOf, symbols: list[str], config: CurveConfig, optional: OptionalRows,
    as_of_ns: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """(features, the symbols' bars), everything dated at or before ``as_of_ns``."""
    bars = bars_of(sorted({*symbols, config.market, config.growth}))
    if as_of_ns is not None:
        bars = bars.filter(pl.col("ts") <= as_of_ns)
    own, market, growth = _split(bars, symbols, config)
    return compute_curve_features(own, market, growth, optional), own


def latest_features(
    bars_of: BarsOf, symbol: str, config: CurveConfig, optional: OptionalRows,
    as_of_ns: int | None = None,
) -> tuple[int, np.ndarray]:  # fmt: skip
    """(its session ts, the feature row) of ``symbol``'s newest session."""
    features, own = curve_features(bars_of, [symbol], config, optional, as_of_ns)
    last = features.tail(1)
    if (
        own.height < MIN_SESSIONS
        or last.select(CURVE_SCHEMA.names).null_count().sum_horizontal()[0]
    ):
        raise DataError(
            f"{symbol}: {own.height} daily sessions stored; the curve needs {MIN_SESSIONS} "
            f"with full windows. Fix: tradeloop ingest --tickers {symbol}"
        )
    return int(last["ts"][0]), last.select(CURVE_SCHEMA.names).to_numpy()[0].astype(np.float64)


def _manifest(trained: TrainedCurve, config: CurveConfig, as_of_ns: int) -> dict[str, Any]:
    models = {
        curve_filename(skill.horizon, output): {
            "target": f"curve_{output}",
            "horizon_bars": skill.horizon,
            "metrics": skill.as_dict() if output == "mean" else {},
            "parity_max_abs": trained.parity_max_abs,
            "parity_tolerance": 1e-5,
        }
        for skill in trained.skill
        for output in OUTPUTS
    }
    return {
        "kind": "prediction-curve",
        "created_at": iso_from_ns(time.time_ns()),
        "as_of": iso_from_ns(as_of_ns),
        "trained_end_ns": trained.data_end_ns,
        "trained_end": iso_from_ns(trained.data_end_ns),
        "data_start": iso_from_ns(trained.data_start_ns),
        "data_end": iso_from_ns(trained.data_end_ns),
        "symbols": trained.symbols,
        "references": {"market": config.market, "growth": config.growth},
        "rows": trained.rows,
        "anchors": list(config.anchors),
        "hold_tstat": config.hold_tstat,
        "feature_version": CURVE_SCHEMA.version,
        "feature_schema_hash": CURVE_SCHEMA.schema_hash,
        "skill": [s.as_dict() for s in trained.skill],
        "models": models,
        "train_config": config.model_dump(mode="json"),
        "seed": config.seed,
    }


def train_and_register_curve(
    registry: ModelRegistry, bars_of: BarsOf, symbols: list[str], config: CurveConfig,
    optional: OptionalRows, *, as_of_ns: int, on_anchor: Callable[[int], None] | None = None,
) -> CurveOutcome:  # fmt: skip
    """Train on everything matured by ``as_of_ns`` and register one immutable version,
    aliased ``candidate`` (``tradeloop models promote`` makes it active)."""
    features, own = curve_features(bars_of, symbols, config, optional, as_of_ns)
    labels = forward_return_labels(own, config.anchors, as_of_ns=as_of_ns)
    trained = train_curve(features, labels, config, on_anchor)
    manifest = _manifest(trained, config, as_of_ns)
    files = dict(trained.files)
    files["MODEL_CARD.md"] = render_model_card(CURVE_MODEL_NAME, manifest).encode()
    version = registry.register(CURVE_MODEL_NAME, files, manifest)
    registry.promote(CURVE_MODEL_NAME, version.model_version_id, "candidate", actor="curve train",
                     reason="new training run")  # fmt: skip
    return CurveOutcome(version.model_version_id, trained, version.manifest)
