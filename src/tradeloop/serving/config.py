"""Configuration of the scoring server (``tradeloop serve scorer``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from tradeloop.core.config import FrozenConfig


class ScorerConfig(FrozenConfig):
    """Where the scorer listens, what it accepts, and when a model is too old to trade."""

    host: str = Field("127.0.0.1", description="bind address (beyond loopback needs a token)")
    port: int = Field(5003, ge=0, le=65535, description="port of the scoring server")
    model_name: str = Field("pivot-events", description="registry name of the served model")
    max_batch: int = Field(5000, ge=1, le=1_000_000, description="events per request, at most")
    max_body_bytes: int = Field(16_000_000, ge=1024, description="request body size, at most")
    stale_warn_hours: float = Field(
        72.0, gt=0, description="model age (since trained_end) that makes health 'degrading'"
    )
    stale_max_hours: float = Field(
        168.0, gt=0, description="model age past which ML signals are refused (is_preview)"
    )
    shadow: bool = Field(True, description="also score the 'shadow' alias (logged only)")
    log_predictions: bool = Field(True, description="write every score to prediction_log")
    log_queue_max: int = Field(
        200_000, ge=1000, description="predictions waiting to be written, at most (then dropped)"
    )
    log_flush_ms: int = Field(50, ge=10, le=60_000, description="prediction_log write interval")
    allowed_hosts: tuple[str, ...] = Field(
        (), description="host names clients may use besides localhost (DNS-rebinding guard)"
    )
    rate_limit_per_minute: int | None = Field(
        120_000,
        ge=1,
        description="requests per remote client address per minute (then 429); clients on "
        "this machine are not limited",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ScorerConfig:
        if self.stale_max_hours < self.stale_warn_hours:
            raise ValueError("stale_max_hours must be >= stale_warn_hours")
        return self
