"""Configuration of the risk layer: the runbooks' limits, applied in the one order path."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from tradeloop.core.config import FrozenConfig


class RiskConfig(FrozenConfig):
    """Hard limits applied to every order in every mode. Fractions are of equity; a limit
    set to null is off. Orders that only shrink a position pass the limits on new risk."""

    RENAMED: ClassVar[dict[str, str]] = {"warmup_seconds": "warmup_s"}

    max_position_notional_usd: float = Field(
        10_000_000.0, gt=0, description="largest |position| value allowed after a fill"
    )
    max_order_notional_usd: float = Field(
        10_000_000.0, gt=0, description="largest single order value"
    )
    max_gross_leverage: float = Field(
        1.0, gt=0, le=10, description="position value after a fill / equity, at most"
    )
    max_position_size: float | None = Field(
        0.20, gt=0, le=10, description="one position's value after a fill / equity"
    )
    first_day_position_size: float | None = Field(
        0.10, gt=0, le=10, description="max_position_size on a live account's first day"
    )
    position_breach_tolerance: float | None = Field(
        0.25,
        ge=0,
        le=10,
        description="a position grown past max_position_size x (1 + this) by price moves is "
        "cut back to max_position_size (circuit breaker); unset: never trimmed",
    )
    max_portfolio_heat: float | None = Field(
        0.50, gt=0, le=10, description="sum of |position values| after a fill / equity"
    )
    max_deployed_usd: float | None = Field(
        None, gt=0, description="sum of |position values| after a fill, in USD (live ramp-up)"
    )
    allow_short: bool = Field(True, description="may open or grow a short position")
    max_sector_exposure: float | None = Field(
        0.40, gt=0, le=10, description="one sector's |position values| after a fill / equity"
    )
    max_correlation: float | None = Field(
        None, gt=0, le=1, description="refuse new risk correlated above this with a holding"
    )
    correlation_window: int = Field(60, ge=3, description="bars of returns for max_correlation")
    max_daily_trades: int | None = Field(None, gt=0, description="orders adding risk per day")
    min_time_between_trades_s: float | None = Field(
        None, gt=0, description="seconds between orders adding risk in one symbol"
    )
    allowed_symbols: tuple[str, ...] | None = Field(
        None, description="only these symbols may take new risk (null: any)"
    )
    trading_hours: tuple[str, str] | None = Field(
        None, description='new risk only inside this window, e.g. ["10:00", "15:30"]'
    )
    trading_timezone: str = Field("America/New_York", description="zone of trading_hours")
    warmup_s: float = Field(0.0, ge=0, description="no new risk this long after a session starts")
    daily_loss_limit: float | None = Field(
        0.05, gt=0, lt=1, description="loss since the day's start / that equity: no new risk"
    )
    daily_loss_cap_usd: float | None = Field(
        None, gt=0, description="loss since the day's start in USD: no new risk"
    )
    loss_streak_max: int | None = Field(
        5, gt=0, description="losing round trips in a row before a cooldown"
    )
    session_cooldown_minutes: float = Field(
        60.0, ge=0, description="no new risk this long after a loss streak"
    )
    min_order_qty: float = Field(0.0, ge=0, description="venue minimum quantity (0: none)")
    min_order_notional_usd: float = Field(
        0.0, ge=0, description="venue minimum order value; smaller signals are dropped"
    )
    notional_cap_usd: float | None = Field(
        None, gt=0, description="scalper sizing: largest position value (unset: no cap)"
    )
    lot_step: float = Field(
        0.0, ge=0, description="scalper sizing: quantities round down to it (0: whole units)"
    )
    min_free_balance_usd: float = Field(
        0.0, ge=0, description="cash that must remain after an order adding risk"
    )
    margin_leverage: float = Field(
        1.0, ge=1, le=125, description="venue leverage of margin positions (1: cash account)"
    )
    maintenance_margin: float = Field(
        0.005, ge=0, lt=1, description="maintenance margin rate (liquidation estimate)"
    )
    assumed_stop_bps: float = Field(
        50.0, gt=0, description="stop distance assumed for the near-liquidation guard"
    )
    sl_buffer_multiplier: float = Field(
        1.5, gt=0, description="drop when liquidation is nearer than this x the stop"
    )
    max_venue_failures: int | None = Field(
        3, gt=0, description="consecutive venue failures that halt trading (circuit breaker)"
    )
    max_var_fraction: float | None = Field(
        None, gt=0, lt=1, description="daemon: REDUCING while 1-day historical VaR / equity > this"
    )
    var_level: float = Field(0.99, gt=0.5, lt=1, description="confidence of that VaR")
    sectors: dict[str, str] = Field(
        default_factory=dict, description="symbol -> sector for max_sector_exposure"
    )

    def position_fraction_cap(self, symbols: int = 1) -> float:
        """The largest share of equity one of ``symbols`` equal positions may take under
        ``max_position_size`` and ``max_portfolio_heat`` (built-in strategies size to it)."""
        caps = [1.0 * self.max_gross_leverage]
        if self.max_position_size is not None:
            caps.append(self.max_position_size)
        if self.max_portfolio_heat is not None:
            caps.append(self.max_portfolio_heat / max(symbols, 1))
        return min(caps)

    @model_validator(mode="after")
    def _fractions_within_leverage(self) -> RiskConfig:
        # A position (or the book) can never hold more of equity than the leverage cap
        # lets it: a larger limit would be a typo (2 meant as 2 %), never a real setting.
        for name in (
            "max_position_size",
            "first_day_position_size",
            "max_portfolio_heat",
            "max_sector_exposure",
        ):
            value = getattr(self, name)
            if value is not None and value > self.max_gross_leverage:
                raise ValueError(
                    f"{name} {value} is more than max_gross_leverage {self.max_gross_leverage} "
                    f"(fractions of equity: 0.2 = 20 %); lower it, or raise max_gross_leverage"
                )
        first, size = self.first_day_position_size, self.max_position_size
        if first is not None and size is not None and first > size:
            raise ValueError(
                f"first_day_position_size {first} is above max_position_size {size}: the first "
                "day is meant to be the more careful one"
            )
        return self

    @model_validator(mode="after")
    def _hours(self) -> RiskConfig:
        if self.trading_hours is not None:
            start, end = (_minutes(t) for t in self.trading_hours)
            if start >= end:
                raise ValueError(f"trading_hours {self.trading_hours}: start must be before end")
        return self


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"trading_hours: {text!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"trading_hours: {text!r} is not a time of day")
    return value
