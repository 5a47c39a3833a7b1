"""Stamping daily bars: a provider's timestamp -> 00:00 UTC of the session date."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tradeloop.core.time import NS_PER_SECOND, ns_from_datetime


def session_day_ns(epoch_seconds: float, timezone: str = "America/New_York") -> int:
    """The session date of an instant in the exchange's timezone, as midnight UTC in ns."""
    local = datetime.fromtimestamp(epoch_seconds, tz=ZoneInfo(timezone))
    return ns_from_datetime(datetime(local.year, local.month, local.day, tzinfo=UTC))


def iso_day(ts_ns: int) -> str:
    """YYYY-MM-DD of a UTC epoch-ns stamp."""
    return datetime.fromtimestamp(ts_ns // NS_PER_SECOND, tz=UTC).date().isoformat()
