"""Dates given on the command line: parsed once, with the same rules in every command.

A date is ISO 8601 (``2018-12-31`` or a datetime, UTC unless it carries an offset), no
earlier than ``EARLIEST`` and never after now: history cannot be fetched, replayed or
traded in the future. A range is refused when reversed. Each refusal names the option,
the value and the fix (exit 2).
"""

from __future__ import annotations

import time

from tradeloop.core.errors import ConfigError
from tradeloop.core.time import iso_from_ns, parse_ns

EARLIEST = "1900-01-01"


def parse_date(text: str, option: str, now_ns: int | None = None) -> int:
    """``text`` as epoch ns; ConfigError when malformed, before 1900 or in the future."""
    try:
        value = parse_ns(text)
    except (ValueError, OverflowError) as exc:
        raise ConfigError(f"{option} {text!r}: {exc}") from None
    now = time.time_ns() if now_ns is None else now_ns
    if value > now:
        raise ConfigError(
            f"{option} {text!r} is in the future (now is {iso_from_ns(now)[:19]}Z). Fix: give "
            "a date up to today, or leave the option out"
        )
    if value < parse_ns(EARLIEST):
        raise ConfigError(f"{option} {text!r} is before {EARLIEST}. Fix: give a later date")
    return value


def parse_range(
    start: str | None,
    end: str | None,
    options: tuple[str, str] = ("--start", "--end"),
    now_ns: int | None = None,
) -> tuple[int | None, int | None]:
    """Both ends of a range (None where not given); refused when reversed."""
    first = parse_date(start, options[0], now_ns) if start else None
    last = parse_date(end, options[1], now_ns) if end else None
    if first is not None and last is not None and first > last:
        raise ConfigError(
            f"{options[0]} {start} is after {options[1]} {end}: the range is reversed. Fix: "
            f"swap them"
        )
    return first, last
