"""The live collector's settings (config section ``collector`` + ``LIVE_COLLECTOR_*``),
apart from the collector so reading the configuration never loads its detectors."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class CollectorConfig(FrozenConfig):
    """The collector's defaults (the runbook's: yahoo, SPY, 45 s)."""

    RENAMED: ClassVar[dict[str, str]] = {
        "poll_sec": "poll_s",
        "bar_interval_sec": "bar_interval_s",
        "max_backoff_sec": "max_backoff_s",
    }

    enabled: bool = Field(True, description="tradeloop up starts the collector")
    source: str = Field("yahoo", description="yahoo | synthetic | replay | bundled | files")
    symbols: tuple[str, ...] = Field(("SPY",), min_length=1, description="symbols to poll")
    poll_s: float = Field(45.0, gt=0, description="seconds between polls")
    range_days: float = Field(1.0, gt=0, le=3650, description="look-back of each poll, days")
    bar_interval_s: int = Field(60, gt=0, description="bar size polled")
    host: str = Field("127.0.0.1", description="bind address of /health and /metrics")
    port: int = Field(5004, ge=0, le=65535, description="port of /health and /metrics")
    max_backoff_s: float = Field(300.0, gt=0, description="longest wait after failures")
    replay_speed: float = Field(600.0, gt=0, description="replay: market seconds per second")
    score_enabled: bool = Field(False, description="post new events to the scorer")
    scorer_url: str = Field("http://127.0.0.1:5003", description="base URL of the scorer")
