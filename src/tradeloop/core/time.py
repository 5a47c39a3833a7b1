"""Time convention: int64 nanoseconds since the epoch, UTC, everywhere inside."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_from_datetime(value: datetime) -> int:
    """Convert an aware datetime to epoch nanoseconds; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone; pass an aware one")
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1_000


def datetime_from_ns(ts: int) -> datetime:
    """Convert epoch nanoseconds to an aware UTC datetime (microsecond precision)."""
    # Integer arithmetic: a float of ~1.7e18 ns cannot hold a microsecond exactly.
    return _EPOCH + timedelta(microseconds=ts // 1_000)


def ns_from_date(value: date) -> int:
    """Midnight UTC of a calendar date, in epoch nanoseconds."""
    return ns_from_datetime(datetime(value.year, value.month, value.day, tzinfo=UTC))


def parse_ns(text: str) -> int:
    """Parse an ISO date or datetime (UTC assumed when no offset is given)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO date or datetime, e.g. 2018-12-31") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return ns_from_datetime(parsed)


def iso_from_ns(ts: int) -> str:
    """Render epoch nanoseconds as an ISO-8601 UTC string."""
    return datetime_from_ns(ts).isoformat().replace("+00:00", "Z")
