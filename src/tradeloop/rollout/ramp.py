"""The live ramp-up: which week of live trading an account is in, which step of the ramp
applies, and the weekly reviews that move it on (a profitable week) or hold it (a losing
or flat one). Pure: the use case supplies each finished week's P&L and stores decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from tradeloop.risk.config import RiskConfig
from tradeloop.rollout.config import FirstDayLimits, RampStep

WEEK_NS = 7 * 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class RampReview:
    """The review at the end of live week ``week`` (1-based): the step the next week runs."""

    week: int
    pnl_usd: float
    outcome: Literal["stepped", "held", "at_full"]
    step: int  # 0-based index into the ramp after this review


def live_week(live_since_ns: int, now_ns: int) -> int:
    """1 during the first seven days live, 2 the next seven, ..."""
    return max(0, now_ns - live_since_ns) // WEEK_NS + 1


def same_local_day(a_ns: int, b_ns: int, zone: str) -> bool:
    """Both times fall on one calendar day in ``zone`` (the first-day limits' day)."""
    tz = ZoneInfo(zone)
    day = [datetime.fromtimestamp(t // 10**9, UTC).astimezone(tz).date() for t in (a_ns, b_ns)]
    return day[0] == day[1]


def due_weeks(live_since_ns: int, now_ns: int, reviews: Sequence[RampReview]) -> list[int]:
    """Finished weeks not reviewed yet, in order."""
    done = {r.week for r in reviews}
    return [w for w in range(1, live_week(live_since_ns, now_ns)) if w not in done]


def week_span(live_since_ns: int, week: int) -> tuple[int, int]:
    start = live_since_ns + (week - 1) * WEEK_NS
    return start, start + WEEK_NS


def review(week: int, pnl_usd: float, step: int, steps: int) -> RampReview:
    """A profitable week moves one step on; otherwise the ramp holds where it is."""
    if pnl_usd <= 0:
        return RampReview(week, pnl_usd, "held", step)
    if step + 1 >= steps:
        return RampReview(week, pnl_usd, "at_full", step)
    return RampReview(week, pnl_usd, "stepped", step + 1)


def current_step(reviews: Sequence[RampReview]) -> int:
    return max((r for r in reviews), key=lambda r: r.week).step if reviews else 0


def ramped_risk(base: RiskConfig, step: RampStep) -> RiskConfig:
    """The account's limits in a ramp step: never looser than the configured ones."""
    size = step.max_position_size
    if base.max_position_size is not None:
        size = min(size, base.max_position_size)
    deployed = step.max_deployed_usd
    if base.max_deployed_usd is not None:
        deployed = (
            base.max_deployed_usd if deployed is None else min(deployed, base.max_deployed_usd)
        )
    return base.with_changes(
        max_position_size=min(size, base.max_gross_leverage),
        max_deployed_usd=deployed,
        first_day_position_size=None,
    )


def first_day_risk(ramped: RiskConfig, limits: FirstDayLimits) -> RiskConfig:
    """The first live trading day's limits over the ramp's first step (the tighter wins)."""

    def tighter(a: float | None, b: float) -> float:
        return b if a is None else min(a, b)

    return ramped.with_changes(
        max_position_size=tighter(ramped.max_position_size, limits.max_position_size),
        max_portfolio_heat=tighter(ramped.max_portfolio_heat, limits.max_portfolio_heat),
        daily_loss_limit=tighter(ramped.daily_loss_limit, limits.daily_loss_limit),
        max_daily_trades=int(tighter(ramped.max_daily_trades, limits.max_daily_trades)),
        min_time_between_trades_s=max(
            ramped.min_time_between_trades_s or 0.0, limits.min_time_between_trades_s
        ),
        max_sector_exposure=tighter(ramped.max_sector_exposure, limits.max_sector_exposure),
        allowed_symbols=_both(ramped.allowed_symbols, limits.allowed_symbols),
        trading_hours=limits.trading_hours or ramped.trading_hours,
        allow_short=ramped.allow_short and limits.allow_short,
    )


def _both(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Symbols both lists allow (None allows any)."""
    if a is None or b is None:
        return b if a is None else a
    return tuple(s for s in a if s in b)
