"""An L2 book of the top levels and the trade flow, as the scalper's stages read them.

The collector publishes each book update as the top levels per side (price, size), best
first; the signal engine and the executor keep the last one per symbol. The functions are
pure so that a test can check them against a hand-computed book.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

Level = tuple[float, float]  # (price, size)

# The candidate features, in the order a model reads them (their hash travels with it).
CANDIDATE_FEATURES: tuple[str, ...] = (
    "imbalance",
    "flow_imbalance",
    "spread_bps",
    "micro_dev_bps",
    "return_bps",
)


@dataclass(frozen=True, slots=True)
class L2Book:
    """One book update: bids best (highest) first, asks best (lowest) first."""

    ts: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    def __post_init__(self) -> None:
        if not self.bids or not self.asks:
            raise ValueError("an L2 book needs at least one bid and one ask")
        if self.bids[0][0] >= self.asks[0][0]:
            raise ValueError(f"crossed book: bid {self.bids[0][0]} >= ask {self.asks[0][0]}")

    @property
    def mid(self) -> float:
        return (self.bids[0][0] + self.asks[0][0]) / 2

    @property
    def spread_bps(self) -> float:
        return (self.asks[0][0] - self.bids[0][0]) / self.mid * 1e4

    def depth(self, side: str, levels: int) -> float:
        """Size resting on ``side`` ("bid" or "ask") over its best ``levels`` levels."""
        book = self.bids if side == "bid" else self.asks
        return math.fsum(size for _, size in book[:levels])

    def imbalance(self, levels: int) -> float:
        """(bid depth - ask depth) / (bid depth + ask depth) over ``levels``: -1 .. 1."""
        bid, ask = self.depth("bid", levels), self.depth("ask", levels)
        total = bid + ask
        return 0.0 if total <= 0 else (bid - ask) / total

    def microprice(self) -> float:
        """The touch prices weighted by the opposite sizes (leans to the thinner side)."""
        (bid, bid_size), (ask, ask_size) = self.bids[0], self.asks[0]
        total = bid_size + ask_size
        return self.mid if total <= 0 else (bid * ask_size + ask * bid_size) / total


def book_from_payload(payload: dict[str, object]) -> L2Book:
    """An ``L2Book`` from a market-data message (``bids`` / ``asks`` as [price, size])."""
    bids = tuple((float(p), float(q)) for p, q in payload["bids"])  # type: ignore[attr-defined]
    asks = tuple((float(p), float(q)) for p, q in payload["asks"])  # type: ignore[attr-defined]
    return L2Book(int(payload["ts"]), bids, asks)  # type: ignore[call-overload]


@dataclass(slots=True)
class TradeFlow:
    """Signed traded size over the last ``window_ns``: buys minus sells, and their total."""

    window_ns: int
    _trades: deque[tuple[int, float]] = field(default_factory=deque)
    _signed: float = 0.0
    _total: float = 0.0

    def add(self, ts: int, size: float, buy: bool) -> None:
        signed = size if buy else -size
        self._trades.append((ts, signed))
        self._signed += signed
        self._total += size
        self.expire(ts)

    def expire(self, now: int) -> None:
        while self._trades and self._trades[0][0] <= now - self.window_ns:
            _, signed = self._trades.popleft()
            self._signed -= signed
            self._total -= abs(signed)
        if not self._trades:
            self._signed = self._total = 0.0  # no drift from float sums

    def imbalance(self) -> float:
        """Buys minus sells over their total: -1 .. 1 (0 without trades)."""
        return 0.0 if self._total <= 1e-12 else max(-1.0, min(1.0, self._signed / self._total))


def candidate_features(
    book: L2Book, flow_imbalance: float, previous_mid: float | None, levels: int
) -> dict[str, float]:
    """The features of a candidate at ``book`` (see ``CANDIDATE_FEATURES``)."""
    mid = book.mid
    return {
        "imbalance": book.imbalance(levels),
        "flow_imbalance": flow_imbalance,
        "spread_bps": book.spread_bps,
        "micro_dev_bps": (book.microprice() - mid) / mid * 1e4,
        "return_bps": 0.0 if not previous_mid else (mid - previous_mid) / previous_mid * 1e4,
    }
