"""A seeded synthetic crypto tape: L2 books and trades, resumable from a cursor.

Each symbol follows a hidden order-flow pressure ``p`` (AR(1), -0.95 .. 0.95). Bid sizes lean
with ``p`` and ask sizes against it, so the book's imbalance shows it; trades hit the ask
with probability (1 + p) / 2; the next mid drifts with ``p``. The imbalance therefore
predicts the next move a little, as on a real book, and a scalper has something to find.

Step ``n`` of a symbol draws from its own generator seeded by (seed, symbol, n), so the
tape from any cursor ``(n, mid, p)`` is the same however often the collector restarts, and
each message's id is derived from (symbol, n, kind): a replayed step is the same message.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from tradeloop.core.bus import Message
from tradeloop.core.ids import natural_key_id


@dataclass(frozen=True, slots=True)
class TickParams:
    seed: int
    start_ns: int
    interval_ms: int
    start_price: float
    tick_size: float
    levels: int
    volatility_bps: float


def step_messages(
    params: TickParams, symbol: str, n: int, mid: float, pressure: float, topic: str, wall_ns: int
) -> tuple[list[Message], float, float]:
    """The messages of step ``n`` (a trade or none, then the book) and the next (mid, p)."""
    rng = np.random.default_rng([params.seed, zlib.crc32(symbol.encode()), n])
    z = rng.standard_normal(3)
    ts = params.start_ns + n * params.interval_ms * 1_000_000
    tick = params.tick_size
    half = tick * (1 if z[2] < 1.2 else 2) / 2
    bid0 = round(math.floor((mid - half) / tick + 1e-9) * tick, 8)
    ask0 = round(max(math.ceil((mid + half) / tick - 1e-9) * tick, bid0 + tick), 8)
    sizes = rng.lognormal(0.0, 0.5, size=(2, params.levels))
    bids = [[round(bid0 - k * tick, 8), round(float(sizes[0, k]) * (1 + pressure), 6)]
            for k in range(params.levels)]  # fmt: skip
    asks = [[round(ask0 + k * tick, 8), round(float(sizes[1, k]) * (1 - pressure), 6)]
            for k in range(params.levels)]  # fmt: skip
    out = []
    if rng.random() < 0.7:
        buy = rng.random() < (1 + pressure) / 2
        trade = {
            "kind": "trade", "symbol": symbol, "ts": ts, "wall_ns": wall_ns,
            "price": asks[0][0] if buy else bids[0][0],
            "qty": round(float(rng.lognormal(-1.0, 0.8)), 6), "side": "buy" if buy else "sell",
        }  # fmt: skip
        out.append(Message(topic, trade, natural_key_id(("md", symbol, n, "trade"), 24)))
    book = {"kind": "book", "symbol": symbol, "ts": ts, "wall_ns": wall_ns,
            "bids": bids, "asks": asks}  # fmt: skip
    out.append(Message(topic, book, natural_key_id(("md", symbol, n, "book"), 24)))
    next_pressure = max(-0.95, min(0.95, 0.8 * pressure + 0.35 * float(z[0])))
    move = params.volatility_bps / 1e4 * (float(z[1]) + 0.8 * pressure)
    next_mid = max(tick * 10, mid * (1 + move))
    return out, next_mid, next_pressure


@dataclass(slots=True)
class SyntheticTape:
    """Round-robin steps over the symbols, from a cursor ``{symbol: [n, mid, p]}``."""

    params: TickParams
    symbols: tuple[str, ...]
    topic: str
    cursor: dict[str, list[float]]

    @classmethod
    def starting(
        cls, params: TickParams, symbols: tuple[str, ...], topic: str,
        cursor: dict[str, list[float]] | None = None,
    ) -> SyntheticTape:  # fmt: skip
        state = {s: [0, params.start_price, 0.0] for s in symbols}
        state.update({s: list(v) for s, v in (cursor or {}).items() if s in state})
        return cls(params, symbols, topic, state)

    def next_ts(self, symbol: str) -> int:
        """Event time of ``symbol``'s next step."""
        n = int(self.cursor[symbol][0])
        return self.params.start_ns + n * self.params.interval_ms * 1_000_000

    def next_batch(self, steps: int, wall_ns: int) -> list[Message]:
        out: list[Message] = []
        for _ in range(steps):
            for symbol in self.symbols:
                n, mid, pressure = self.cursor[symbol]
                messages, mid, pressure = step_messages(
                    self.params, symbol, int(n), mid, pressure, self.topic, wall_ns
                )
                out.extend(messages)
                self.cursor[symbol] = [int(n) + 1, mid, pressure]
        return out
