"""Trading calendars: which daily sessions should exist for an asset class.

Stocks and commodities follow the NYSE calendar (exchange_calendars ``XNYS``), crypto
trades every day (24/7) and FX every weekday (24/5). Sessions are midnight-UTC epoch
nanoseconds, the stamp of daily bars.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from tradeloop.core.time import NS_PER_DAY
from tradeloop.domain.asset_class import AssetClass

# exchange_calendars refuses a start that is itself a holiday; open wider than any query.
_CALENDAR_START, _CALENDAR_END = "1990-01-02", "2035-12-31"


@lru_cache(maxsize=1)
def _nyse_sessions() -> np.ndarray:
    import exchange_calendars
    from pandas.errors import Pandas4Warning

    with warnings.catch_warnings():
        # exchange_calendars 4.13 calls Series.values on tz-aware data under pandas 3.
        warnings.filterwarnings(
            "ignore", message="Series.values returning an ndarray", category=Pandas4Warning
        )
        calendar = exchange_calendars.get_calendar("XNYS", start=_CALENDAR_START, end=_CALENDAR_END)
        sessions = calendar.sessions
    return np.asarray(sessions.asi8, dtype=np.int64)


def _day(ts_ns: int) -> int:
    return ts_ns - ts_ns % NS_PER_DAY


def expected_sessions(asset_class: AssetClass, start_ns: int, end_ns: int) -> np.ndarray:
    """Session stamps in [start_ns, end_ns] (both days included) for ``asset_class``."""
    first, last = _day(start_ns), _day(end_ns)
    if last < first:
        return np.empty(0, dtype=np.int64)
    if asset_class in (AssetClass.STOCKS, AssetClass.COMMODITIES):
        sessions = _nyse_sessions()
        return sessions[(sessions >= first) & (sessions <= last)]
    # Count in days, not ns: arange over ~1.7e18 ns loses the last step to float rounding.
    days = np.arange(first // NS_PER_DAY, last // NS_PER_DAY + 1, dtype=np.int64) * NS_PER_DAY
    if asset_class is AssetClass.CRYPTO:
        return days
    weekday = (days // NS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday (3)
    return days[weekday < 5]


def session_window_start(asset_class: AssetClass, sessions: int, as_of_ns: int) -> int:
    """The first of the last ``sessions`` sessions ending at ``as_of_ns`` (inclusive)."""
    if sessions <= 0:
        raise ValueError(f"sessions must be > 0, got {sessions}")
    # Go back far enough for any calendar: 7/5 days per session plus holidays.
    lookback = (sessions * 7 // 4 + 30) * NS_PER_DAY
    window = expected_sessions(asset_class, as_of_ns - lookback, as_of_ns)
    if window.size < sessions:
        raise ValueError(
            f"the {asset_class.value} calendar has only {window.size} sessions before "
            f"{as_of_ns}; cannot take {sessions}"
        )
    return int(window[-sessions])
