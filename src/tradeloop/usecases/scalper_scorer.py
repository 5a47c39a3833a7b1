"""The ai_scorer stage: each candidate gets the probability that it wins, and a verdict.

The model reads the candidate's features in ``CANDIDATE_FEATURES`` order, turned to the
candidate's side (for a sell, the directional features change sign, so one model scores
both sides). Without an ONNX model the logistic baseline of the config scores; the
message says which model did (``model_id``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from tradeloop.core.bus import Message
from tradeloop.features.tick_book import CANDIDATE_FEATURES
from tradeloop.usecases.scalper_config import ScorerStageConfig
from tradeloop.usecases.stream_stage import CANDIDATES, SCORED, derived_id

DIRECTIONAL = frozenset({"imbalance", "flow_imbalance", "micro_dev_bps", "return_bps"})


class CandidateModel(Protocol):
    """P(win) of a side-adjusted feature vector."""

    @property
    def model_id(self) -> str: ...

    def probability(self, features: Sequence[float]) -> float: ...


@dataclass(frozen=True, slots=True)
class LogisticBaseline:
    """sigmoid(intercept + sum(weight * feature)): the configured baseline model."""

    intercept: float
    weights: tuple[float, ...]
    model_id: str = "baseline"

    @classmethod
    def from_config(cls, config: ScorerStageConfig) -> LogisticBaseline:
        unknown = sorted(set(config.weights) - set(CANDIDATE_FEATURES))
        if unknown:
            raise ValueError(
                f"scalper.ai_scorer.weights: unknown feature(s) {', '.join(unknown)}. "
                f"Fix: use {', '.join(CANDIDATE_FEATURES)}"
            )
        weights = tuple(config.weights.get(name, 0.0) for name in CANDIDATE_FEATURES)
        return cls(config.intercept, weights)

    def probability(self, features: Sequence[float]) -> float:
        z = self.intercept + math.fsum(w * x for w, x in zip(self.weights, features, strict=True))
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


def side_adjusted(features: Mapping[str, float], side: str) -> list[float]:
    """The features in model order, directional ones negated for a sell."""
    sign = 1.0 if side == "buy" else -1.0
    return [
        float(features[name]) * (sign if name in DIRECTIONAL else 1.0)
        for name in CANDIDATE_FEATURES
    ]


@dataclass(slots=True)
class CandidateScorer:
    model: CandidateModel
    tau_entry: float
    name: str = "ai_scorer"
    scored: int = 0
    approved: int = 0
    shadow: CandidateModel | None = None  # scored alongside, never decides
    shadow_tau: float | None = None
    shadow_evaluated: int = 0
    shadow_approved: int = 0
    parity_failures: int = 0  # onnx_parity_fail_total

    def topics(self) -> tuple[str, ...]:
        return (CANDIDATES,)

    def commit(self) -> list[Message]:
        return []

    def handle(self, message: Message) -> list[Message]:
        payload = message.payload
        score = self.model.probability(side_adjusted(payload["features"], payload["side"]))
        if not math.isfinite(score):
            raise ValueError(f"model {self.model.model_id} scored {score} for {message.message_id}")
        verdict = score >= self.tau_entry
        self.scored += 1
        self.approved += verdict
        out = {
            **payload,
            "score": score,
            "tau_entry": self.tau_entry,
            "approved": verdict,
            "model_id": self.model.model_id,
        }
        if self.shadow is not None:
            shadow = self.shadow.probability(side_adjusted(payload["features"], payload["side"]))
            self.shadow_evaluated += 1
            tau = self.tau_entry if self.shadow_tau is None else self.shadow_tau
            self.shadow_approved += shadow >= tau
            out["shadow_score"], out["shadow_model_id"] = shadow, self.shadow.model_id
        return [Message(SCORED, out, derived_id("scored", message.message_id))]
