"""The read-only view of one bar that strategies and venues receive."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BarView:
    """One bar plus any precomputed columns (indicators, model scores) by name."""

    symbol: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    extra: dict[str, float | None] = field(default_factory=dict)
