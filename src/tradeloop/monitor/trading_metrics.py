"""The daemon's trading metrics under the runbooks' names, for ``var/metrics/daemon.prom``.

``route`` is how the account trades (``paper`` or ``live``), as the scalper stack splits
canary / paper / full. Rolling figures cover the last ``window`` items:

- ``trades_opened_total{route}``: orders sent that open or add to a position.
- ``winrate_rolling{route}``: share of closed trades with a positive PnL.
- ``fill_rate_rolling{route}``: share of sent orders that received any fill (orders from
  the current tick are not judged yet).
- ``avg_markout_{100,500,1000}ms{route}``: mean signed move of the mark, in bps of the fill
  price, sampled the first tick at least that long after each fill (with bar data the mark
  moves per bar: it is a mark-to-market of the fill).
- ``trades_per_hour{route}``: orders opened in the last hour.
- ``mode_switch_total{from,to}``: trading-state changes (ACTIVE / REDUCING / HALTED) and
  safe mode on (``normal`` -> ``safe``) and off.
- heartbeat and error counters of the loop.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

from tradeloop.domain.enums import Side
from tradeloop.domain.orders import OrderFilled, SubmitOrder

MARKOUTS_MS = (100, 500, 1000)


@dataclass(slots=True)
class _Pending:
    symbol: str
    price: Decimal
    sign: int
    at: float
    left: list[int]


class TradingTracker:
    def __init__(
        self, route: str, window: int = 50, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.route = route
        self.window = window
        self.clock = clock
        self.opened = 0
        self.opened_at: deque[float] = deque()
        self.closed: deque[bool] = deque(maxlen=window)
        self.sent: deque[str] = deque(maxlen=window)
        self.filled: set[str] = set()
        self.this_tick: set[str] = set()
        self.markouts: dict[int, deque[float]] = {ms: deque(maxlen=window) for ms in MARKOUTS_MS}
        self.pending: list[_Pending] = []
        self.switches: Tally[tuple[str, str]] = Tally()
        self.state: str | None = None

    def on_sent(self, order: SubmitOrder, position_before: Decimal) -> None:
        self.sent.append(order.client_order_id)
        self.this_tick.add(order.client_order_id)
        change = order.signed_quantity
        if position_before == 0 or (position_before > 0) == (change > 0):
            self.opened += 1
            self.opened_at.append(self.clock())

    def on_fill(self, fill: OrderFilled) -> None:
        self.filled.add(fill.client_order_id)
        sign = 1 if fill.side is Side.BUY else -1
        self.pending.append(
            _Pending(fill.symbol, fill.price, sign, self.clock(), list(MARKOUTS_MS))
        )

    def on_closed(self, pnl: Decimal) -> None:
        self.closed.append(pnl > 0)

    def on_tick(self, marks: dict[str, Decimal], state: str) -> None:
        """After a tick: sample markouts that are due, note a state change."""
        now = self.clock()
        for item in self.pending:
            mark = marks.get(item.symbol)
            if mark is None or item.price <= 0:
                continue
            for ms in [m for m in item.left if now - item.at >= m / 1000]:
                move = float((mark - item.price) / item.price) * 1e4 * item.sign
                self.markouts[ms].append(move)
                item.left.remove(ms)
        self.pending = [p for p in self.pending if p.left]
        if self.state is not None and state != self.state:
            self.switches[(self.state, state)] += 1
        self.state = state
        self.this_tick.clear()
        while self.opened_at and now - self.opened_at[0] > 3600:
            self.opened_at.popleft()

    def switch(self, before: str, after: str) -> None:
        self.switches[(before, after)] += 1

    @property
    def winrate(self) -> float | None:
        return sum(self.closed) / len(self.closed) if self.closed else None

    @property
    def fill_rate(self) -> float | None:
        judged = [cid for cid in self.sent if cid not in self.this_tick]
        return sum(cid in self.filled for cid in judged) / len(judged) if judged else None

    def markout(self, ms: int) -> float | None:
        values = self.markouts[ms]
        return sum(values) / len(values) if values else None

    def write(self, path: Path, account: str, loop: dict[str, Any]) -> Path:
        registry = CollectorRegistry()
        labels = ["account", "route"]
        key = (account, self.route)
        Counter(
            "trades_opened", "orders opening or adding to a position", labels, registry=registry
        ).labels(*key).inc(self.opened)
        rolling = {
            "winrate_rolling": (self.winrate, "share of the last closed trades that won"),
            "fill_rate_rolling": (self.fill_rate, "share of the last orders that got a fill"),
            **{
                f"avg_markout_{ms}ms": (self.markout(ms), f"mean markout {ms} ms after fills, bps")
                for ms in MARKOUTS_MS
            },
        }
        for name, (value, text) in rolling.items():
            gauge = Gauge(name, text, labels, registry=registry)
            if value is not None:
                gauge.labels(*key).set(value)
        Gauge(
            "trades_per_hour", "orders opened in the last hour", labels, registry=registry
        ).labels(*key).set(len(self.opened_at))
        switches = Counter(
            "mode_switch",
            "trading-state and safe-mode switches",
            ["account", "from", "to"],
            registry=registry,
        )
        for (before, after), count in sorted(self.switches.items()):
            switches.labels(account, before, after).inc(count)
        backpressure = Counter(
            "backpressure",
            "ticks over max_queue_len, by mode",
            ["account", "mode"],
            registry=registry,
        )
        for mode, count in sorted(loop.get("backpressure_total", {}).items()):
            backpressure.labels(account, mode).inc(count)
        Gauge(
            "tradeloop_daemon_heartbeat_timestamp_seconds",
            "time of the last heartbeat",
            ["account"],
            registry=registry,
        ).labels(account).set(time.time())
        for name in ("cycles", "model_errors", "arima_fb", "loop_errors", "refresh_errors"):
            Counter(
                f"tradeloop_daemon_{name}",
                f"daemon {name.replace('_', ' ')}",
                ["account"],
                registry=registry,
            ).labels(account).inc(loop.get(name, 0))
        Gauge(
            "tradeloop_daemon_safe_mode",
            "1 while safe mode scales new risk",
            ["account"],
            registry=registry,
        ).labels(account).set(1 if loop.get("safe_mode") else 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)
        return path
