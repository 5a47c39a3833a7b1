"""The research config chain: an ExperimentSpec names a ServingSpec, which names a
PipelineSpec; each is one YAML file in its folder of the config tree, named after it.

- **PipelineSpec** (``pipelines/``): which instrument and time range become a dataset, and
  the grid (bin width, half width) it is cut into.
- **ServingSpec** (``serving/``): what runs on that grid: the gold features' parameters,
  the signal and its parameters, the overlays a page draws.
- **ExperimentSpec** (``experiments/``): a sweep over a serving's signal and evaluation
  parameters (``signal.<name>``, ``eval.<name>``), grid or seeded random, and the TP/SL
  evaluation.
- **GoldCampaignSpec** (``gold_campaigns/``): pipelines whose datasets and gold are made
  together.
- **PublishedServingSpec** (``serving_versions/``): an immutable published serving with
  its runtime snapshot (written by promotion, never edited).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tradeloop.core.config import FrozenConfig
from tradeloop.features.book.gold import GoldConfig

NAME = r"^[a-z0-9][a-z0-9_.-]*$"
SIGNALS: dict[str, dict[str, float]] = {
    # signal -> its parameters and their defaults (documented in research/signals.py)
    "composite_threshold": {"threshold": 0.05},
    "pressure_vacuum": {"threshold": 0.02},
    "ema_cross": {"fast_bins": 20.0, "slow_bins": 100.0},
    "gold_lgbm": {"horizon_bins": 30.0, "folds": 5.0, "threshold": 0.05},
}


class PipelineSpec(FrozenConfig):
    """Instrument + range -> a dataset of bins and their grid."""

    name: str = Field(pattern=NAME, description="the file's name, without .yaml")
    description: str = ""
    instrument: str = Field(description="instrument file, relative to the project root")
    start: str | None = Field(None, description="first bin end kept (ISO time)")
    end: str | None = Field(None, description="last bin end kept (ISO time)")
    cell_width_ms: int | None = Field(None, ge=1, le=60_000, description="bin width override")
    grid_half_width_ticks: int | None = Field(None, ge=1, le=2000, description="grid override")
    files: tuple[str, ...] = Field((), description="DBN files (default: the lake's)")

    @field_validator("start", "end")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        from tradeloop.core.time import parse_ns

        if value is not None:
            try:
                parse_ns(value)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an ISO time, e.g. 2023-12-25T23:00:00Z"
                ) from None
        return value


class SignalSpec(FrozenConfig):
    name: Literal["composite_threshold", "pressure_vacuum", "ema_cross", "gold_lgbm"]
    params: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_params(self) -> SignalSpec:
        known = SIGNALS[self.name]
        unknown = sorted(set(self.params) - set(known))
        if unknown:
            raise ValueError(
                f"signal {self.name} has no parameter {', '.join(unknown)} "
                f"(it has: {', '.join(known)})"
            )
        return self

    def resolved(self) -> dict[str, float]:
        return {**SIGNALS[self.name], **self.params}


class OverlaySpec(FrozenConfig):
    label: str
    type: Literal["line", "marker", "band", "gauge"]
    params: dict[str, Any] = Field(default_factory=dict)


class ServingSpec(FrozenConfig):
    """What runs on a pipeline's grid: gold parameters, a signal, overlays."""

    name: str = Field(pattern=NAME)
    description: str = ""
    pipeline: str = Field(pattern=NAME, description="the PipelineSpec it reads")
    gold: GoldConfig = Field(default_factory=GoldConfig)
    signal: SignalSpec
    overlays: tuple[OverlaySpec, ...] = ()


class EvalSpec(FrozenConfig):
    """TP/SL evaluation: entry at the next valid bin's mid after a signal, exit at the
    first bin whose mid reaches take-profit or stop-loss, or after max_hold_bins; no new
    entry for cooldown_bins bins after an exit; bins with mid 0 skipped."""

    tp_ticks: float = Field(8.0, gt=0)
    sl_ticks: float = Field(4.0, gt=0)
    max_hold_bins: int = Field(600, ge=1)
    cooldown_bins: int = Field(10, ge=0)


class RangeSpec(FrozenConfig):
    low: float
    high: float
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class SweepSpec(FrozenConfig):
    """``params``: ``signal.<p>`` or ``eval.<p>`` -> a list of values (grid) or a range
    (random; ``samples`` points drawn with ``seed``)."""

    mode: Literal["grid", "random"] = "grid"
    samples: int = Field(20, ge=1, le=1_000_000)
    seed: int = 0
    params: dict[str, list[float] | RangeSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        for key, values in self.params.items():
            area, _, name = key.partition(".")
            if area not in ("signal", "eval") or not name:
                raise ValueError(f"sweep parameter {key!r}: use signal.<name> or eval.<name>")
            if area == "eval" and name not in EvalSpec.model_fields:
                raise ValueError(
                    f"sweep parameter {key!r}: eval has {', '.join(EvalSpec.model_fields)}"
                )
            if self.mode == "grid" and isinstance(values, RangeSpec):
                raise ValueError(f"sweep parameter {key!r}: a grid sweep takes a list of values")
            if isinstance(values, list) and not values:
                raise ValueError(f"sweep parameter {key!r}: no values")
        return self


class ExperimentSpec(FrozenConfig):
    name: str = Field(pattern=NAME)
    description: str = ""
    serving: str = Field(pattern=NAME, description="the ServingSpec it sweeps")
    sweep: SweepSpec = Field(default_factory=SweepSpec)
    eval: EvalSpec = Field(default_factory=EvalSpec)


class GoldCampaignSpec(FrozenConfig):
    name: str = Field(pattern=NAME)
    description: str = ""
    pipelines: tuple[str, ...] = Field(min_length=1)
    serving: str | None = Field(None, description="whose gold parameters (default: defaults)")


class PublishedServingSpec(FrozenConfig):
    serving_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    name: str = Field(pattern=NAME)
    published_at: str
    spec: ServingSpec
    runtime_snapshot: dict[str, Any]


KINDS: dict[str, type[FrozenConfig]] = {
    "pipelines": PipelineSpec,
    "serving": ServingSpec,
    "experiments": ExperimentSpec,
    "gold_campaigns": GoldCampaignSpec,
    "serving_versions": PublishedServingSpec,
}
