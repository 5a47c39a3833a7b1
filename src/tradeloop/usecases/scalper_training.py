"""`tradeloop scalper train`: label the archived tape's candidates, fit the candidate
classifier, register it as the ``scalper`` model's candidate with what a release needs
(feature schema hash, PR-AUC and precision, thresholds, parity rows, evaluation window,
the volatility regimes the data covered)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tradeloop.core.time import iso_from_ns
from tradeloop.features.tick_book import CANDIDATE_FEATURES
from tradeloop.models.candidate_classifier import (
    FEATURE_SCHEMA_HASH,
    regimes,
    train_classifier,
)
from tradeloop.usecases.scalper_config import SignalEngineConfig
from tradeloop.usecases.scalper_research import label_candidates


class Registry(Protocol):
    def register(self, name: str, files: dict[str, bytes], manifest: dict[str, Any]) -> Any: ...

    def promote(self, name: str, model_version_id: str, alias: str, *, actor: str,
                reason: str = "", force: bool = False) -> Any: ...  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrainRequest:
    name: str
    symbol: str
    horizon_ms: int
    cost_bps: float
    tau_entry: float
    tau_hold: float
    seed: int


def train_scalper_model(
    registry: Registry,
    tape: list[dict[str, Any]],
    signal: SignalEngineConfig,
    request: TrainRequest,
) -> tuple[str, dict[str, Any]]:
    labelled = label_candidates(tape, signal, request.horizon_ms)
    wins = (labelled.forward_bps > request.cost_bps).astype(int)
    trained = train_classifier(labelled.features, wins, tau_entry=request.tau_entry,
                               seed=request.seed)  # fmt: skip
    cut = int(wins.size * 0.7)
    ts = labelled.ts
    manifest = {
        "kind": "scalper-candidate", "target": "scalper_win", "symbol": request.symbol,
        "feature_names": list(CANDIDATE_FEATURES), "feature_schema_hash": FEATURE_SCHEMA_HASH,
        "feature_version": f"candidate-{FEATURE_SCHEMA_HASH}",
        "metrics": trained.metrics, "baseline": trained.baseline,
        "thresholds": {"tau_entry": request.tau_entry, "tau_hold": request.tau_hold},
        "parity": trained.parity, "parity_max_abs": trained.parity_max_abs,
        "horizon_ms": request.horizon_ms, "cost_bps": request.cost_bps, "seed": request.seed,
        "trained_end_ns": int(ts[cut - 1]),
        "evaluation_window": {"start": iso_from_ns(int(ts[cut])), "end": iso_from_ns(int(ts[-1]))},
        "training_window": {"start": iso_from_ns(int(ts[0])), "end": iso_from_ns(int(ts[cut - 1]))},
        "regimes": regimes(np.asarray(labelled.volatility_bps)[cut:]),
        "created_at": iso_from_ns(time.time_ns()),
    }  # fmt: skip
    version = registry.register(request.name, {"model.onnx": trained.onnx}, manifest)
    vid = str(version.model_version_id)
    registry.promote(
        request.name, vid, "candidate", actor="scalper train", reason="new training run"
    )
    return vid, manifest
