"""The live event collector: poll bars, store them, detect touch events, serve /health.

One poll per symbol fetches from the later of (now - range) and the bar after the last
stored one, so a restart resumes where it stopped; events are recomputed over the stored
bars of the polled window plus enough history for the prior session, and inserted
idempotently, so nothing is lost or duplicated across restarts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import polars as pl
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from tradeloop.core.errors import OperatorError, TradeloopError
from tradeloop.core.time import NS_PER_DAY, NS_PER_SECOND
from tradeloop.data.ports import BarRequest, BarStore, Provider
from tradeloop.features.config import PivotConfig
from tradeloop.features.touch_events import detect_touch_events
from tradeloop.usecases.collector_config import CollectorConfig as CollectorConfig

log = logging.getLogger("tradeloop.collector")

# Enough history before a poll window to rebuild the prior session's levels.
_LOOKBACK_NS = 5 * NS_PER_DAY
# Events kept for re-scoring while the scorer is down (the newest win).
_MAX_UNSCORED = 10_000
DATA_ISSUES = (
    "out_of_order",
    "duplicates",
    "forming",
    "before_window",
    "invalid",
    "zero_volume",
    "gaps",
)


class EventSink(Protocol):
    """Where detected touch events go (``store.sql.event_store.SqlEventStore``)."""

    def insert_new_events(self, events: pl.DataFrame) -> pl.DataFrame:
        """Insert the events not stored yet, in one transaction; return exactly those."""
        ...


@dataclass(slots=True)
class SymbolStatus:
    last_bar_ts: int | None = None
    bars_today: int = 0
    events_today: int = 0
    day: int = -1  # the UTC day the "today" counters belong to

    def add(self, now_ns: int, bars: int, events: int) -> None:
        day = now_ns // NS_PER_DAY
        if day != self.day:
            self.day, self.bars_today, self.events_today = day, 0, 0
        self.bars_today += bars
        self.events_today += events


@dataclass(slots=True)
class CollectorHealth:
    """What /health reports."""

    source: str
    poll_sec: float
    started_ns: int = field(default_factory=time.time_ns)
    last_poll_ns: int | None = None
    last_poll_wall_ns: int | None = None
    consecutive_errors: int = 0
    last_error: str | None = None
    last_error_needs_operator: bool = False
    polls: int = 0
    predictions_logged: int = 0
    scoring_errors: int = 0
    last_scoring_error: str | None = None
    symbols: dict[str, SymbolStatus] = field(default_factory=dict)
    data_issues: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATA_ISSUES, 0))

    def snapshot(self, now_ns: int) -> dict[str, Any]:
        last_bar = max((s.last_bar_ts or 0 for s in self.symbols.values()), default=0)
        lag_sec = (now_ns - last_bar) / NS_PER_SECOND if last_bar else None
        # Polls run on the wall clock even when the market clock is a replay.
        stale = self.last_poll_wall_ns is None or (
            time.time_ns() - self.last_poll_wall_ns > 3 * self.poll_sec * NS_PER_SECOND
        )
        status = "degraded" if self.consecutive_errors or (stale and self.polls) else "ok"
        return {
            "status": status,
            "source": self.source,
            "last_poll_ns": self.last_poll_ns,
            "lag_sec": lag_sec,
            "bars_today": sum(s.bars_today for s in self.symbols.values()),
            "events_today": sum(s.events_today for s in self.symbols.values()),
            "consecutive_errors": self.consecutive_errors,
            "last_error": self.last_error,
            "polls": self.polls,
            "data_issues": dict(self.data_issues),
            "scoring": {
                "predictions_logged": self.predictions_logged,
                "errors": self.scoring_errors,
                "last_error": self.last_scoring_error,
            },
            "symbols": {
                name: {
                    "last_bar_ts": s.last_bar_ts,
                    "bars_today": s.bars_today,
                    "events_today": s.events_today,
                }
                for name, s in self.symbols.items()
            },
        }


@dataclass(frozen=True, slots=True)
class PollResult:
    symbol: str
    bars_new: int
    events_new: int
    last_bar_ts: int | None
    issues: dict[str, int] = field(default_factory=dict)
    inserted: pl.DataFrame | None = None


def sanitize_bars(
    fetched: pl.DataFrame, *, start_ns: int, now_ns: int
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Make a provider's answer safe to store, counting every problem it had.

    Out-of-order rows are sorted; a repeated key keeps the last copy; a bar still forming
    (closing after ``now_ns``) or starting before ``start_ns`` (already stored or stale) is
    dropped; rows with non-positive, non-finite or inconsistent prices are dropped; zero
    volume and gaps inside a day are counted but kept.
    """
    issues = dict.fromkeys(DATA_ISSUES, 0)
    if fetched.is_empty():
        return fetched, issues
    ts = fetched["ts"]
    issues["out_of_order"] = int((ts.diff() < 0).sum() or 0)
    frame = fetched.sort("ts", maintain_order=True)
    unique = frame.unique(
        subset=["symbol", "ts", "bar_interval_sec"], keep="last", maintain_order=True
    )
    issues["duplicates"] = frame.height - unique.height
    close_ns = pl.col("ts") + pl.col("bar_interval_sec") * NS_PER_SECOND
    forming = unique.filter(close_ns > now_ns).height
    before = unique.filter(pl.col("ts") < start_ns).height
    frame = unique.filter((close_ns <= now_ns) & (pl.col("ts") >= start_ns))
    prices = ("open", "high", "low", "close")
    sane = (
        pl.all_horizontal([pl.col(c).is_finite() & (pl.col(c) > 0) for c in prices])
        & pl.col("volume").is_finite()
        & (pl.col("volume") >= 0)
        & (pl.col("high") >= pl.max_horizontal("open", "close", "low"))
        & (pl.col("low") <= pl.min_horizontal("open", "close"))
    ).fill_null(False)
    clean = frame.filter(sane)
    issues["forming"], issues["before_window"] = forming, before
    issues["invalid"] = frame.height - clean.height
    issues["zero_volume"] = clean.filter(pl.col("volume") == 0).height
    if clean.height > 1:
        step = clean["bar_interval_sec"][0] * NS_PER_SECOND
        deltas = clean["ts"].diff().drop_nulls()
        same_day = (clean["ts"] // NS_PER_DAY).diff().drop_nulls() == 0
        issues["gaps"] = int(((deltas > step) & same_day).sum())
    return clean, issues


def poll_symbol(
    symbol: str,
    *,
    provider: Provider,
    bars: BarStore,
    events: EventSink,
    last_bar_ts: Callable[[str, int], int | None],
    config: CollectorConfig,
    pivots: PivotConfig,
    now_ns: int,
) -> PollResult:
    """Fetch what is new for ``symbol``, store it, and insert the events it creates."""
    interval = config.bar_interval_s
    window_start = now_ns - int(config.range_days * NS_PER_DAY)
    last = last_bar_ts(symbol, interval)
    start = window_start if last is None else max(window_start, last + interval * NS_PER_SECOND)
    fetched = (
        provider.fetch_bars(BarRequest(symbol, start, now_ns, interval)) if start < now_ns else None
    )
    issues = dict.fromkeys(DATA_ISSUES, 0)
    if fetched is not None:
        fetched, issues = sanitize_bars(fetched, start_ns=start, now_ns=now_ns)
        if any(issues.values()):
            found = {k: v for k, v in issues.items() if v}
            log.warning("collector %s: provider data issues %s", symbol, found)
    new_bars = bars.upsert_bars(fetched) if fetched is not None and fetched.height else 0
    stored = bars.load_bars(symbol, interval, as_of_ns=now_ns)
    # Whole sessions only: a window cut mid-session would see a touch already in progress
    # as new and an opening range without its first bars. 00:00 UTC lies between sessions
    # for stocks (New York) and is the session boundary for FX and crypto.
    first = start - _LOOKBACK_NS
    recent = stored.filter(pl.col("ts") >= first - first % NS_PER_DAY)
    detected = detect_touch_events(recent, pivots)
    inserted = events.insert_new_events(detected)
    final = int(stored["ts"][-1]) if stored.height else None
    return PollResult(symbol, new_bars, inserted.height, final, issues, inserted)


class HealthServer:
    """``GET /health`` (JSON) and ``GET /metrics`` (Prometheus) on a background thread."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Callable[[], dict[str, Any]],
        metrics: Callable[[], bytes],
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/health":
                    body, kind = json.dumps(health()).encode(), "application/json"
                elif self.path.split("?")[0] == "/metrics":
                    body, kind = metrics(), "text/plain; version=0.0.4"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Collector:
    """Polls every symbol on a schedule; failures back off and recover by themselves."""

    def __init__(
        self,
        *,
        provider: Provider,
        bars: BarStore,
        events: EventSink,
        last_bar_ts: Callable[[str, int], int | None],
        config: CollectorConfig,
        pivots: PivotConfig,
        clock_ns: Callable[[], int] = time.time_ns,
        scorer: Callable[[pl.DataFrame], int] | None = None,
    ) -> None:
        self.scorer = scorer
        self._unscored: list[pl.DataFrame] = []
        self.provider = provider
        self.bars = bars
        self.events = events
        self.last_bar_ts = last_bar_ts
        self.config = config
        self.pivots = pivots
        self.clock_ns = clock_ns
        self.health = CollectorHealth(source=config.source, poll_sec=config.poll_s)
        self.registry = CollectorRegistry()
        self._polls = Counter(
            "tradeloop_collector_polls", "polls done", ["outcome"], registry=self.registry
        )
        self._bars = Counter(
            "tradeloop_collector_bars", "bars stored", ["symbol"], registry=self.registry
        )
        self._events = Counter(
            "tradeloop_collector_events", "events inserted", ["symbol"], registry=self.registry
        )
        self._issues = Counter(
            "tradeloop_collector_data_issues",
            "provider data problems",
            ["kind"],
            registry=self.registry,
        )
        self._errors = Gauge(
            "tradeloop_collector_consecutive_errors",
            "failed polls in a row",
            registry=self.registry,
        )
        self._stop = threading.Event()

    def poll(self, on_symbol: Callable[[PollResult], None] | None = None) -> list[PollResult]:
        """One poll of every symbol; raises nothing, records failures in health.
        ``on_symbol`` hears each symbol's result as it is stored (progress)."""
        now = self.clock_ns()
        results = []
        try:
            for symbol in self.config.symbols:
                result = poll_symbol(
                    symbol,
                    provider=self.provider,
                    bars=self.bars,
                    events=self.events,
                    last_bar_ts=self.last_bar_ts,
                    config=self.config,
                    pivots=self.pivots,
                    now_ns=now,
                )
                results.append(result)
                status = self.health.symbols.setdefault(symbol, SymbolStatus())
                status.last_bar_ts = result.last_bar_ts
                status.add(now, result.bars_new, result.events_new)
                self._bars.labels(symbol).inc(result.bars_new)
                for kind, count in result.issues.items():
                    self.health.data_issues[kind] += count
                    self._issues.labels(kind).inc(count)
                self._events.labels(symbol).inc(result.events_new)
                if on_symbol is not None:
                    on_symbol(result)
        except (TradeloopError, OSError, ValueError) as exc:
            self.health.consecutive_errors += 1
            self.health.last_error = f"{type(exc).__name__}: {exc}"
            self.health.last_error_needs_operator = isinstance(exc, OperatorError)
            self._polls.labels("error").inc()
            log.warning(
                "collector poll failed (%d in a row): %s", self.health.consecutive_errors, exc
            )
        else:
            self.health.consecutive_errors = 0
            self.health.last_error = None
            self._polls.labels("ok").inc()
        if self.scorer is not None:
            self._score([r.inserted for r in results if r.inserted is not None])
        self.health.last_poll_ns = self.clock_ns()
        self.health.last_poll_wall_ns = time.time_ns()
        self.health.polls += 1
        self._errors.set(self.health.consecutive_errors)
        return results

    def _score(self, fresh: list[pl.DataFrame]) -> None:
        """Send new events (and any the scorer missed before) for scoring; a scorer outage
        never stops collection, it only shows in /health."""
        assert self.scorer is not None
        pending = [frame for frame in [*self._unscored, *fresh] if frame.height]
        if not pending:
            return
        batch = pl.concat(pending, how="diagonal_relaxed")
        try:
            self.health.predictions_logged += self.scorer(batch)
        except (TradeloopError, OSError, ValueError) as exc:
            self.health.scoring_errors += 1
            self.health.last_scoring_error = f"{type(exc).__name__}: {exc}"
            self._unscored = [batch.tail(_MAX_UNSCORED)]
            log.warning("scoring %d events failed: %s", batch.height, exc)
        else:
            self._unscored = []
            self.health.last_scoring_error = None

    def next_delay_sec(self) -> float:
        """The poll interval, doubled per consecutive failure up to max_backoff_sec."""
        errors = self.health.consecutive_errors
        return float(min(self.config.poll_s * (2**errors), self.config.max_backoff_s))

    def run(self, polls: int | None = None) -> None:
        """Poll until :meth:`stop` (or ``polls`` times)."""
        done = 0
        while not self._stop.is_set():
            self.poll()
            done += 1
            if polls is not None and done >= polls:
                return
            self._stop.wait(self.next_delay_sec())

    def stop(self) -> None:
        self._stop.set()

    def metrics(self) -> bytes:
        return bytes(generate_latest(self.registry))
