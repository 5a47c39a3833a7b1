"""Bybit V5 public market streams (trades, order book, klines) through ccxt's websocket
support (``ccxt.pro``), as the collector's source.

A background thread runs ccxt's asyncio client: per symbol one loop watches trades
(``publicTrade.<S>``), one the order book (``orderbook.50.<S>``: ccxt applies Bybit's
snapshot and deltas and checks their sequence) and one the 1-minute klines
(``kline.1.<S>``). Each update becomes a market-data message on a queue the collector
drains:

- a trade: ``{kind: trade, price, qty, side}``, id from Bybit's trade id (``i``), so a
  trade pushed twice (a reconnect replays the last ones) is one message;
- a book: the top ``levels`` per side, id from its content and time;
- a kline: each minute once it is closed (the next one started).

A dropped connection raises in the watch loop; it waits (doubling up to 10 s) and
watches again, and ccxt reconnects and subscribes anew. No market is loaded over REST: the
instruments come from the config (``scalper.instruments``), so the collector needs only the
websocket endpoint (``scalper.bybit_ws_url``; Bybit's public linear stream by default).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ccxt.pro as ccxtpro

from tradeloop.core.bus import Message
from tradeloop.core.ids import natural_key_id

log = logging.getLogger(__name__)

PUBLIC_LINEAR = "wss://stream.bybit.com/v5/public/linear"


@dataclass(frozen=True, slots=True)
class StreamInstrument:
    symbol: str  # ours, e.g. BTCUSDT
    venue_id: str  # Bybit's, e.g. BTCUSDT
    lot_size: float
    tick_size: float


def _market(instrument: StreamInstrument) -> dict[str, Any]:
    base = instrument.venue_id.removesuffix("USDT")
    return {
        "id": instrument.venue_id, "symbol": f"{base}/USDT:USDT", "base": base,
        "quote": "USDT", "settle": "USDT", "baseId": base, "quoteId": "USDT",
        "settleId": "USDT", "type": "swap", "spot": False, "margin": False, "swap": True,
        "future": False, "option": False, "active": True, "contract": True, "linear": True,
        "inverse": False, "contractSize": 1,
        "precision": {"amount": instrument.lot_size, "price": instrument.tick_size},
        "limits": {"amount": {"min": instrument.lot_size}}, "info": {},
    }  # fmt: skip


@dataclass(slots=True)
class StreamCounters:
    trades: int = 0
    books: int = 0
    klines: int = 0
    reconnects: int = 0
    last_error: str = ""
    by_kind: dict[str, int] = field(default_factory=dict)


class BybitPublicStream:
    """The collector's source over Bybit's public websocket (see the module doc)."""

    def __init__(
        self,
        instruments: list[StreamInstrument],
        topic: str,
        *,
        ws_url: str | None = None,
        levels: int = 10,
        kline_timeframe: str = "1m",
    ) -> None:
        self.instruments = instruments
        self.topic = topic
        self.levels = levels
        self.kline_timeframe = kline_timeframe
        self.counters = StreamCounters()
        self._queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._client = ccxtpro.bybit({"options": {"defaultType": "swap"}})
        url = ws_url or PUBLIC_LINEAR
        self._client.urls["api"]["ws"]["public"]["linear"] = url
        self._client.set_markets([_market(i) for i in instruments])
        self._ours = {f"{i.venue_id.removesuffix('USDT')}/USDT:USDT": i.symbol for i in instruments}
        self._open_kline: dict[str, list[Any]] = {}
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._thread = threading.Thread(target=self._run, name="bybit-stream", daemon=True)
        self._thread.start()

    @property
    def cursor(self) -> dict[str, Any]:
        c = self.counters
        return {"trades": c.trades, "books": c.books, "klines": c.klines,
                "reconnects": c.reconnects}  # fmt: skip

    def next_batch(self, steps: int, wall_ns: int) -> list[Message]:
        """What arrived since the last call (waiting up to 0.25 s for the first message)."""
        out: list[Message] = []
        try:
            out.append(self._queue.get(timeout=0.25))
        except queue.Empty:
            return out
        limit = max(1, steps) * 50
        while len(out) < limit:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self._stop.set()
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.close()

    # -- the websocket side ---------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._tasks = [
            loop.create_task(self._forever(watch, unified))
            for unified in self._ours
            for watch in (self._trades, self._book, self._klines)
        ]
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _forever(self, watch: Any, unified: str) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                await watch(unified)
                backoff = 0.1
            except asyncio.CancelledError:
                return
            except Exception as exc:  # ccxt's NetworkError and friends: wait, watch again
                self.counters.reconnects += 1
                self.counters.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("bybit stream %s: %s; again in %.1f s", unified,
                            self.counters.last_error, backoff)  # fmt: skip
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _put(self, payload: dict[str, Any], key: tuple[object, ...]) -> None:
        payload["wall_ns"] = time.time_ns()
        self._queue.put(Message(self.topic, payload, natural_key_id(key, 24)))

    async def _trades(self, unified: str) -> None:
        symbol = self._ours[unified]
        for trade in await self._client.watch_trades(unified):
            self.counters.trades += 1
            payload = {"kind": "trade", "symbol": symbol, "ts": int(trade["timestamp"]) * 1_000_000,
                       "price": float(trade["price"]), "qty": float(trade["amount"]),
                       "side": "buy" if trade["side"] == "buy" else "sell"}  # fmt: skip
            self._put(payload, ("bybit", symbol, "trade", trade["id"]))

    async def _book(self, unified: str) -> None:
        symbol = self._ours[unified]
        book = await self._client.watch_order_book(unified, 50)
        bids = [[float(p), float(q)] for p, q, *_ in book["bids"][: self.levels]]
        asks = [[float(p), float(q)] for p, q, *_ in book["asks"][: self.levels]]
        if not bids or not asks or bids[0][0] >= asks[0][0]:
            return  # one-sided or crossed mid-update: not a book to trade on
        self.counters.books += 1
        ts = int(book.get("timestamp") or time.time() * 1000) * 1_000_000
        payload = {"kind": "book", "symbol": symbol, "ts": ts, "bids": bids, "asks": asks}
        self._put(payload, ("bybit", symbol, "book", ts, json.dumps([bids[:3], asks[:3]])))

    async def _klines(self, unified: str) -> None:
        # ccxt hands back the candles updated since the last call: the one still open is
        # kept, and published once the next minute's first update shows it closed
        symbol = self._ours[unified]
        for candle in await self._client.watch_ohlcv(unified, self.kline_timeframe):
            current = self._open_kline.get(symbol)
            if current is not None and candle[0] > current[0]:
                self._publish_kline(symbol, current)
            if current is None or candle[0] >= current[0]:
                self._open_kline[symbol] = list(candle)

    def _publish_kline(self, symbol: str, candle: list[Any]) -> None:
        opened, o, h, low, c, v = candle[:6]
        self.counters.klines += 1
        payload = {"kind": "kline", "symbol": symbol, "ts": int(opened) * 1_000_000,
                   "open": o, "high": h, "low": low, "close": c, "volume": v,
                   "interval": self.kline_timeframe}  # fmt: skip
        self._put(payload, ("bybit", symbol, "kline", self.kline_timeframe, opened))


def instruments_of(config: Mapping[str, Any], symbols: Mapping[str, str]) -> list[StreamInstrument]:
    """``scalper.instruments`` as the stream needs them; ``symbols`` maps ours to Bybit's."""
    return [
        StreamInstrument(s, symbols.get(s, s.replace("-", "").replace("/", "")), i.lot_size,
                         i.tick_size)
        for s, i in config.items()
    ]  # fmt: skip
