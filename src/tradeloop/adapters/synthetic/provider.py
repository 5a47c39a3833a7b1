"""The ``synthetic`` provider.

Daily bars follow a two-regime (calm / turbulent) Markov model with stochastic log-
volatility, Poisson jumps and overnight gaps; highs and lows are drawn from the exact
distribution of a Brownian bridge's extremes, so OHLC is always consistent. Intraday bars
bridge each session from its daily open to its daily close with a U-shaped (open and
close heavy) volatility and volume profile, 09:30-16:00 America/New_York.

Every series is a pure function of ``(seed, symbol)`` (intraday: of ``(seed, symbol,
day)``), generated from a fixed anchor date, so any sub-range fetched later returns the
same bars.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.core.time import NS_PER_DAY, NS_PER_SECOND, ns_from_datetime
from tradeloop.data.calendars import expected_sessions
from tradeloop.data.ports import BarRequest
from tradeloop.domain.asset_class import classify_symbol
from tradeloop.domain.bar import BAR_SCHEMA, DAILY_SEC, empty_bars

ANCHOR = np.datetime64("1990-01-01", "D")
# The whole daily series is always drawn anchor to horizon, so a sub-range never changes it.
HORIZON = np.datetime64("2035-12-31", "D")
HORIZON_END_NS = int((HORIZON + 1).astype("datetime64[ns]").astype(np.int64))
SESSION_SEC = 23_400
_NEW_YORK = ZoneInfo("America/New_York")


def _stream(seed: int, *parts: object) -> np.random.Generator:
    key = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(key[:16], "little"))


def _bridge_extremes(
    rng: np.random.Generator, ret: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Max and min of a Brownian bridge from 0 to ``ret`` with total variance sigma**2."""
    var = np.maximum(sigma, 1e-12) ** 2
    up = 0.5 * (ret + np.sqrt(ret**2 - 2 * var * np.log(rng.uniform(1e-12, 1.0, ret.shape))))
    down = 0.5 * (ret - np.sqrt(ret**2 - 2 * var * np.log(rng.uniform(1e-12, 1.0, ret.shape))))
    return up, down


def _u_profile(steps: int) -> np.ndarray:
    x = (np.arange(steps) + 0.5) / steps
    weights: np.ndarray = 1.0 + 2.0 * (2 * x - 1) ** 2
    return weights / float(weights.sum())


@dataclass(frozen=True, slots=True)
class Calibration:
    """Targets for one symbol's synthetic series, e.g. measured on real history."""

    annual_vol: float
    annual_drift: float
    price0: float


def calibrate(bars: pl.DataFrame, price_scale: float = 1.0) -> Calibration:
    """Annualised volatility and drift of real daily closes, and a starting price."""
    closes = bars.sort("ts")["close"].to_numpy()
    returns = np.diff(np.log(closes))
    return Calibration(
        annual_vol=float(returns.std() * np.sqrt(252)),
        annual_drift=float(returns.mean() * 252),
        price0=float(closes[0] * price_scale),
    )


# Regimes and stochastic volatility raise realised volatility above the base level by
# about this factor; dividing it out makes a calibrated series hit its target.
_VOL_INFLATION = 1.15


class SyntheticProvider:
    """Any symbol, any weekday, daily or intraday bars; deterministic per (seed, symbol)."""

    name = "synthetic"

    def __init__(self, seed: int = 7, calibration: dict[str, Calibration] | None = None) -> None:
        self.seed = seed
        self.calibration = dict(calibration or {})
        self._daily_cache: dict[str, pl.DataFrame] = {}

    def symbols(self) -> tuple[str, ...]:
        return ()

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        if request.bar_interval_sec >= DAILY_SEC:
            if request.bar_interval_sec != DAILY_SEC:
                raise DataError(
                    f"synthetic provider: bar_interval_sec={request.bar_interval_sec} is not "
                    f"supported. Fix: use {DAILY_SEC} (daily) or a divisor of {SESSION_SEC}."
                )
            bars = self._daily(request.symbol, request.end_ns)
            return bars.filter((pl.col("ts") >= request.start_ns) & (pl.col("ts") < request.end_ns))
        if SESSION_SEC % request.bar_interval_sec:
            raise DataError(
                f"synthetic provider: intraday bar_interval_sec={request.bar_interval_sec} does "
                f"not divide the {SESSION_SEC}-second session. Fix: use 60, 300, 900 or 1800."
            )
        return self._intraday(request)

    def _daily(self, symbol: str, end_ns: int) -> pl.DataFrame:
        if end_ns > HORIZON_END_NS:
            raise DataError(
                f"synthetic provider: history ends on {HORIZON}; {end_ns} was asked. "
                "Fix: request an earlier end."
            )
        if symbol not in self._daily_cache:
            # Sessions follow the symbol's market: NYSE for stocks and futures, weekdays for
            # FX, every day for crypto.
            start = int(ANCHOR.astype("datetime64[ns]").astype(np.int64))
            sessions = expected_sessions(classify_symbol(symbol), start, HORIZON_END_NS - 1)
            days = sessions.astype("datetime64[ns]").astype("datetime64[D]")
            self._daily_cache[symbol] = self._simulate_daily(symbol, days)
        return self._daily_cache[symbol]

    def _simulate_daily(self, symbol: str, days: np.ndarray) -> pl.DataFrame:
        rng = _stream(self.seed, symbol, "daily")
        n = days.size
        price0 = float(np.exp(rng.uniform(np.log(10), np.log(500))))
        base_vol = rng.uniform(0.10, 0.35) / np.sqrt(252)
        drift = rng.uniform(0.02, 0.09) / 252
        target = self.calibration.get(symbol)
        if target is not None:
            price0 = target.price0
            base_vol = target.annual_vol / _VOL_INFLATION / np.sqrt(252)
            drift = target.annual_drift / 252
        base_volume = float(np.exp(rng.uniform(np.log(2e5), np.log(5e7))))
        # Regimes: calm (0) and turbulent (1), sticky Markov chain.
        switch = rng.uniform(size=n)
        regime = np.zeros(n, dtype=np.int8)
        for i in range(1, n):
            stay = 0.99 if regime[i - 1] == 0 else 0.95
            regime[i] = regime[i - 1] if switch[i] < stay else 1 - regime[i - 1]
        # Stochastic volatility: AR(1) log-vol.
        shocks = rng.normal(0.0, 0.06, n)
        log_vol = np.empty(n)
        log_vol[0] = 0.0
        for i in range(1, n):
            log_vol[i] = 0.97 * log_vol[i - 1] + shocks[i]
        sigma = base_vol * np.exp(log_vol) * np.where(regime == 1, 1.8, 1.0)
        mu = np.where(regime == 1, -drift, drift)
        jumps = (rng.uniform(size=n) < 0.01) * rng.normal(-0.003, 0.03, n)
        gap = rng.normal(0.0, 0.35, n) * sigma
        intraday_sigma = sigma * np.sqrt(0.88)
        intraday = mu + intraday_sigma * rng.standard_normal(n) + jumps
        # Weak pull towards the symbol's long-run trend keeps decades of prices plausible.
        trend = np.log(price0) + drift * np.arange(n)
        log_close = np.empty(n)
        level = np.log(price0)
        for i in range(n):
            pull = -0.0007 * (level - trend[i])
            gap[i] += pull
            level += gap[i] + intraday[i]
            log_close[i] = level
        log_open = log_close - intraday
        up, down = _bridge_extremes(rng, intraday, intraday_sigma)
        high = np.exp(log_open + np.maximum(up, np.maximum(intraday, 0.0)))
        low = np.exp(log_open + np.minimum(down, np.minimum(intraday, 0.0)))
        open_, close = np.exp(log_open), np.exp(log_close)
        surprise = np.abs(intraday) / np.maximum(sigma, 1e-12)
        volume = np.round(
            base_volume
            * (sigma / base_vol) ** 0.5
            * (0.6 + 0.4 * surprise)
            * np.exp(rng.normal(0.0, 0.25, n))
        )
        ts = (days.astype("datetime64[ns]").astype(np.int64)).astype(np.int64)
        return pl.DataFrame(
            {
                "symbol": [symbol] * n,
                "ts": ts,
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": volume,
                "adj_close": close,
                "source": ["synthetic"] * n,
                "bar_interval_sec": np.full(n, DAILY_SEC, dtype=np.int64),
            },
            schema=BAR_SCHEMA,
        )

    def _intraday(self, request: BarRequest) -> pl.DataFrame:
        interval = request.bar_interval_sec
        steps = SESSION_SEC // interval
        first_day = request.start_ns - NS_PER_DAY
        daily = self._daily(request.symbol, request.end_ns).filter(
            (pl.col("ts") >= first_day) & (pl.col("ts") < request.end_ns)
        )
        if daily.is_empty():
            return empty_bars()
        profile = _u_profile(steps)
        frames = []
        for row in daily.iter_rows(named=True):
            session_day = datetime.fromtimestamp(row["ts"] / NS_PER_SECOND, tz=UTC).date()
            open_ns = ns_from_datetime(datetime.combine(session_day, time(9, 30), _NEW_YORK))
            ts = open_ns + np.arange(steps, dtype=np.int64) * interval * NS_PER_SECOND
            keep = (ts >= request.start_ns) & (ts < request.end_ns)
            if not keep.any():
                continue
            frames.append(
                self._session(request.symbol, session_day, row, ts, profile, interval).filter(
                    pl.Series(keep)
                )
            )
        if not frames:
            return empty_bars()
        return pl.concat(frames)

    def _session(
        self,
        symbol: str,
        session_day: date,
        daily_row: dict[str, float],
        ts: np.ndarray,
        profile: np.ndarray,
        interval: int,
    ) -> pl.DataFrame:
        rng = _stream(self.seed, symbol, "intraday", session_day.isoformat(), interval)
        steps = ts.size
        log_open, log_close = np.log(daily_row["open"]), np.log(daily_row["close"])
        day_sigma = max(np.log(daily_row["high"] / daily_row["low"]) / 2.0, 1e-6)
        step_sigma = day_sigma * np.sqrt(profile)
        walk = np.cumsum(rng.standard_normal(steps) * step_sigma)
        weights = np.cumsum(profile)
        path = log_open + walk - weights * (walk[-1] - (log_close - log_open))
        closes = np.exp(path)
        opens = np.exp(np.concatenate(([log_open], path[:-1])))
        bar_ret = np.log(closes / opens)
        up, down = _bridge_extremes(rng, bar_ret, step_sigma)
        highs = opens * np.exp(np.maximum(up, np.maximum(bar_ret, 0.0)))
        lows = opens * np.exp(np.minimum(down, np.minimum(bar_ret, 0.0)))
        volume = np.round(
            daily_row["volume"]
            * profile
            * np.exp(rng.normal(0.0, 0.3, steps))
            * (0.7 + 0.3 * np.abs(bar_ret) / np.maximum(step_sigma, 1e-12))
        )
        return pl.DataFrame(
            {
                "symbol": [symbol] * steps,
                "ts": ts,
                "open": opens,
                "high": highs,
                "low": lows,
                "close": closes,
                "volume": volume,
                "adj_close": closes,
                "source": ["synthetic"] * steps,
                "bar_interval_sec": np.full(steps, interval, dtype=np.int64),
            },
            schema=BAR_SCHEMA,
        )
