"""Configuration of the data layer."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class QualityConfig(FrozenConfig):
    """Thresholds of the quality score."""

    min_score: float = Field(0.6, ge=0, le=1, description="accept at or above this score")
    extreme_spike_log_return: float = Field(
        0.5, gt=0, description="a bar-to-bar |log return| above this flags a spike"
    )
    holiday_allowance_pct: float = Field(
        4.0, ge=0, le=50, description="missing weekdays tolerated as exchange holidays"
    )


class ProviderCapability(FrozenConfig):
    """What one provider can serve (a row of the capability matrix)."""

    stocks: bool = Field(description="serves stocks")
    fx: bool = Field(description="serves FX pairs (symbols ending =X)")
    crypto: bool = Field(description="serves crypto (symbols containing -USD)")
    commodities: bool = Field(description="serves commodity futures (symbols ending =F)")
    max_history_days: int = Field(gt=0, description="never ask for more calendar days")
    requires_entitlement: bool = Field(description="needs <NAME>_ENABLED and credentials")
    rate_limit_per_minute: int = Field(60, gt=0, description="requests per minute, at most")


def _capabilities() -> dict[str, ProviderCapability]:
    rows = {
        # name: stocks, fx, crypto, commodities, max_history_days, entitled, rate/min
        "yahoo": (True, True, True, True, 5000, False, 60),
        "polygon": (True, True, True, False, 5000, True, 5),
        "alpaca": (True, False, True, False, 730, True, 200),
        "bundled": (True, True, False, False, 36500, False, 10_000),
        "synthetic": (True, True, True, True, 36500, False, 10_000),
        "files": (True, True, True, True, 36500, False, 10_000),
    }
    keys = (
        "stocks",
        "fx",
        "crypto",
        "commodities",
        "max_history_days",
        "requires_entitlement",
        "rate_limit_per_minute",
    )
    return {
        name: ProviderCapability(**dict(zip(keys, row, strict=True))) for name, row in rows.items()
    }


class RetryConfig(FrozenConfig):
    """Bounded exponential backoff with jitter for 429, 5xx and timeouts."""

    max_attempts: int = Field(4, ge=1, le=10, description="tries per request, first included")
    base_delay_ms: int = Field(500, ge=0, description="delay before the first retry")
    max_delay_ms: int = Field(30_000, ge=0, description="cap of any single delay")
    timeout_ms: int = Field(15_000, gt=0, description="per-request timeout")


class IngestConfig(FrozenConfig):
    """Batch ingestion: universe, provider matrix and priority, governance thresholds."""

    universe_path: str = Field("config/universe.json", description="the only source of symbols")
    capabilities: dict[str, ProviderCapability] = Field(
        default_factory=_capabilities, description="the provider capability matrix"
    )
    priority: tuple[str, ...] = Field(
        ("yahoo", "polygon", "alpaca"), min_length=1, description="providers tried in order"
    )
    offline: bool = Field(
        False, description="bundled, then synthetic, lead the priority (no network needed)"
    )
    files_dir: str | None = Field(None, description="directory of the 'files' provider")
    endpoints: dict[str, str] = Field(
        default_factory=lambda: {
            "yahoo": "https://query2.finance.yahoo.com",
            "polygon": "https://api.polygon.io",
            "alpaca": "https://data.alpaca.markets",
        },
        description="base URL of each REST provider",
    )
    required_rows: int = Field(1260, gt=0, description="sessions of daily history per symbol")
    degraded_min_rows: int = Field(1000, gt=0, description="below this a symbol is QUARANTINED")
    max_rejection_rate_pct: float = Field(5.0, ge=0, le=100, description="alert above this")
    archive_raw: bool = Field(True, description="keep raw provider payloads under var/raw/")
    commit_batch_symbols: int = Field(
        64, ge=1, le=512, description="symbols written per transaction (each all-or-nothing)"
    )
    retry: RetryConfig = Field(default_factory=RetryConfig, description="HTTP retry policy")

    def effective_priority(self) -> tuple[str, ...]:
        leading = ("bundled", "synthetic") if self.offline else ()
        rest = tuple(name for name in self.priority if name not in leading)
        return leading + rest
