"""The signal engine: market data in, candidates out.

A candidate is raised on a book update whose imbalance over ``levels`` reaches
``min_imbalance`` (buy when the bids are deeper) while the spread is at most
``max_spread_bps``, at most once per ``cooldown_ms`` of event time per symbol. It carries
its features (``CANDIDATE_FEATURES``), the book it was seen on (the executor's liquidity
gate reads it, so a redelivered signal is judged on the same book) and the collector's
wall time (end-to-end latency).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tradeloop.core.bus import Message
from tradeloop.features.tick_book import (
    L2Book,
    TradeFlow,
    book_from_payload,
    candidate_features,
)
from tradeloop.usecases.scalper_config import SignalEngineConfig
from tradeloop.usecases.stream_stage import CANDIDATES, MARKET, derived_id


@dataclass(slots=True)
class _SymbolState:
    flow: TradeFlow
    book: L2Book | None = None
    last_mid: float | None = None
    last_candidate_ts: int | None = None


@dataclass(slots=True)
class SignalEngine:
    config: SignalEngineConfig
    name: str = "signal_engine"
    candidates: int = 0
    _symbols: dict[str, _SymbolState] = field(default_factory=dict)

    def topics(self) -> tuple[str, ...]:
        return (MARKET,)

    def commit(self) -> list[Message]:
        return []  # no effect of its own: the candidates are its output

    def _state(self, symbol: str) -> _SymbolState:
        state = self._symbols.get(symbol)
        if state is None:
            state = _SymbolState(TradeFlow(self.config.flow_window_ms * 1_000_000))
            self._symbols[symbol] = state
        return state

    def handle(self, message: Message) -> list[Message]:
        payload = message.payload
        state = self._state(str(payload["symbol"]))
        kind = payload.get("kind")
        if kind == "trade":
            state.flow.add(int(payload["ts"]), float(payload["qty"]), payload["side"] == "buy")
            return []
        if kind != "book":
            return []  # klines and anything newer: not this engine's input
        book = book_from_payload(payload)
        previous, state.book = state.last_mid, book
        state.last_mid = book.mid
        state.flow.expire(book.ts)
        candidate = self._candidate(message, state, book, previous)
        return [] if candidate is None else [candidate]

    def _candidate(
        self, message: Message, state: _SymbolState, book: L2Book, previous: float | None
    ) -> Message | None:
        config = self.config
        imbalance = book.imbalance(config.levels)
        if abs(imbalance) < config.min_imbalance or book.spread_bps > config.max_spread_bps:
            return None
        last = state.last_candidate_ts
        if last is not None and book.ts - last < config.cooldown_ms * 1_000_000:
            return None
        state.last_candidate_ts = book.ts
        self.candidates += 1
        signal_id = derived_id("candidate", message.message_id)
        payload = {
            "signal_id": signal_id,
            "symbol": message.payload["symbol"],
            "ts": book.ts,
            "side": "buy" if imbalance > 0 else "sell",
            "price": book.mid,
            "features": candidate_features(book, state.flow.imbalance(), previous, config.levels),
            "bids": [list(level) for level in book.bids[: config.book_levels]],
            "asks": [list(level) for level in book.asks[: config.book_levels]],
            "md_id": message.message_id,
            "wall_ns": message.payload.get("wall_ns"),
        }
        return Message(CANDIDATES, payload, signal_id)
