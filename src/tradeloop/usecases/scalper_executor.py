"""The executor's stage: ``sig:approved`` in, one order (or one recorded drop) out.

For each approved signal, in order: a HALT/CRIT control event or the kill switch (through
the risk gate), staleness (``max_signal_age_ms`` of event time behind the tape), the
warm-up gate (``warmup.seconds`` of the symbol's tape since this executor started:
``warmup_drop_total{symbol}``), backpressure (more than ``max_queue_len`` signals waiting:
``halt`` drops, ``degrade`` keeps only those scored >= ``degrade_tau``;
``backpressure_total{mode}``), the sizing formula (``risk/sizing.py``), the
``liquidity_by_side`` gate (the side the order trades against must show ``alpha`` x its size
over ``levels`` levels, on the book the signal was raised on), then the risk gate's rules
and the order manager: journal first, then the venue.

The order is a post-only limit at the touch (the best bid to buy, the best ask to sell)
with the client id ``sc<signal id>``: a signal delivered again finds its order in the
journal and is never sent twice, and a stored drop is never turned into an order.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from tradeloop.core.bus import Message
from tradeloop.domain.enums import OrderType, Side
from tradeloop.domain.order_lifecycle import ManagedOrder
from tradeloop.domain.orders import OrderFilled, SubmitOrder
from tradeloop.execution.order_manager import OrderManager, UnknownOrderFill, VenueFill
from tradeloop.execution.venue import Exchange
from tradeloop.features.tick_book import book_from_payload
from tradeloop.monitor.trading_metrics import TradingTracker
from tradeloop.risk.gate import OrderCheck, RiskGate
from tradeloop.risk.sizing import scalper_quantity
from tradeloop.usecases.scalper_config import ExecutorStageConfig, InstrumentConfig
from tradeloop.usecases.scalper_exits import ExitBook
from tradeloop.usecases.scalper_risk import apply_control
from tradeloop.usecases.stream_stage import (
    APPROVED,
    CONTROL,
    FILLS,
    MARKET,
    ORDERS,
    Decisions,
    derived_id,
    drop,
)

log = logging.getLogger(__name__)


class ScalperVenue(Exchange, Protocol):
    """The venue as the executor reads it: orders, and the account for sizing."""

    def positions(self) -> dict[str, Decimal]: ...

    def balance(self) -> Decimal: ...


class Tape(Protocol):
    """A venue the executor feeds with the tape (the paper venue)."""

    def on_book(self, symbol: str, ts: int, bid: Decimal, ask: Decimal) -> list[Any]: ...

    def on_trade(
        self, symbol: str, ts: int, price: Decimal, quantity: Decimal, buyer_aggressor: bool
    ) -> list[Any]: ...


def client_order_id(signal_id: str) -> str:
    return f"sc{signal_id[:24]}"


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


@dataclass(slots=True)
class ExecutorStage:
    config: ExecutorStageConfig
    instruments: Mapping[str, InstrumentConfig]
    orders: OrderManager
    gate: RiskGate
    venue: ScalperVenue
    decisions: Decisions
    backlog: Callable[[], int]
    route: str = "paper"
    tape: Tape | None = None
    persist: Callable[[], None] | None = None  # the paper venue's state, once per batch
    wall_clock: Callable[[], int] = time.time_ns
    exits: ExitBook | None = None
    tracker: TradingTracker | None = None  # fill rate, win rate, markouts on event time
    account_cache_ns: int = 0  # a real venue's balance and positions, reused this long
    _account: tuple[int, Decimal, dict[str, Decimal]] | None = None
    name: str = "executor"
    sent: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    warmup_drops: Counter[str] = field(default_factory=Counter)
    backpressure: Counter[str] = field(default_factory=Counter)
    _first_ts: dict[str, int] = field(default_factory=dict)
    _last_ts: dict[str, int] = field(default_factory=dict)
    _touch: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    _flattened: bool = False
    crit_halts: bool = True  # False: the fail-safe sends a CRIT's signals to paper instead

    def topics(self) -> tuple[str, ...]:
        return (CONTROL, MARKET, APPROVED)

    def commit(self) -> list[Message]:
        if self.persist is not None:
            self.persist()
        now = self.wall_clock()
        out = []
        for message, decision in self.decisions.commit():
            wall = message.payload.get("wall_ns")
            latency = None if not wall else now - int(wall)  # market data -> drop decided
            out.append(drop(self.name, message, str(decision["reason"]), latency_ns=latency))
        return out

    def handle(self, message: Message) -> list[Message]:
        if message.topic == CONTROL:
            apply_control(self.gate, message.payload, crit_halts=self.crit_halts)
            return []
        if message.topic == MARKET:
            return self._tape(message.payload)
        return self.on_signal(message)

    # -- the tape -------------------------------------------------------------------------

    def _tape(self, md: dict[str, Any]) -> list[Message]:
        symbol, ts = str(md["symbol"]), int(md["ts"])
        self._first_ts.setdefault(symbol, ts)
        self._last_ts[symbol] = max(ts, self._last_ts.get(symbol, ts))
        tape = self.tape
        if md.get("kind") not in ("trade", "book"):
            return []  # klines: the tape's clock moved, nothing to trade on
        if md.get("kind") == "trade":
            if tape is None:
                return []
            price, quantity = _dec(md["price"]), _dec(md["qty"])
            return self.venue_events(
                tape.on_trade(symbol, ts, price, quantity, md["side"] == "buy")
            )
        bid, ask = _dec(md["bids"][0][0]), _dec(md["asks"][0][0])
        self._touch[symbol] = (bid, ask)
        out = self.venue_events(tape.on_book(symbol, ts, bid, ask) if tape is not None else [])
        if self.exits is not None:
            if not self._flattened:
                # once per start, on the first book: what no exit covers leaves now
                self._flattened = True
                self.exits.flatten(self.venue.positions(), ts)
            self.exits.on_book(symbol, ts, bid, ask)
        if self.tracker is not None:
            self.tracker.on_tick({symbol: (bid + ask) / 2}, self.gate.state.trading_state.value)
        return out

    @property
    def now_s(self) -> float:
        """Event time of the tape, in seconds (the tracker's clock)."""
        return max(self._last_ts.values(), default=0) / 1e9

    def account(self) -> tuple[Decimal, dict[str, Decimal]]:
        """The venue's balance and positions; a real venue's are asked at most once per
        ``account_cache_ns`` of wall time (fills reset it)."""
        now = self.wall_clock()
        cached = self._account
        if cached is None or now - cached[0] >= self.account_cache_ns:
            cached = (now, self.venue.balance(), self.venue.positions())
            self._account = cached
        return cached[1], cached[2]

    def exit_check(self, order: SubmitOrder) -> str | None:
        """The risk gate's verdict on an exit, on the venue's account as it stands."""
        price = order.limit_price
        if price is None:
            bid, ask = self._touch.get(order.symbol, (Decimal(0), Decimal(0)))
            price = ask if order.side is Side.BUY else bid
        if price <= 0:
            return f"NO_BOOK: no touch price of {order.symbol} yet"
        equity, positions = self.account()
        check = OrderCheck(
            order, price, equity, positions, {order.symbol: price}, order.ts_init, equity
        )
        return self.gate.denial(check)

    def venue_events(self, events: list[Any]) -> list[Message]:
        """Fills and order states the venue reported: applied once each by the order
        manager; every new fill goes out on ``fills``."""
        out = []
        for event in events:
            if isinstance(event, VenueFill):
                try:
                    updated = self.orders.on_fill(event)
                except UnknownOrderFill:
                    log.warning("fill %s of an order this executor never sent: left to "
                                "reconciliation", event.fill_id)  # fmt: skip
                    continue
                if updated is not None:
                    out.append(_fill_message(event, updated, self.route))
                    self._account = None
                    if self.tracker is not None:
                        self.tracker.on_fill(_filled(event, updated))
                    if self.exits is not None:
                        self.exits.on_fill(event, updated)
            else:
                self.orders.on_status(event)
                if self.exits is not None:
                    self.exits.on_status(event)
        return out

    # -- signals ----------------------------------------------------------------------------

    def on_signal(self, message: Message) -> list[Message]:
        signal = message.payload
        cid = client_order_id(str(signal["signal_id"]))
        if message.redelivered:
            existing = self.orders.journal.get(cid)
            if existing is not None:
                return [self.order_message(signal, existing, replayed=True)]
            stored = self.decisions.stored(message)
            if stored is not None:
                return [drop(self.name, message, str(stored["reason"]))]
        reason, order, check = self._decide(signal, cid)
        if reason is not None or order is None or check is None:
            self.drops[(reason or "").partition(":")[0]] += 1
            self.decisions.add(message, {"outcome": "drop", "reason": reason})
            return []
        managed = self.orders.submit(order)
        if self.tracker is not None:
            self.tracker.on_sent(order, check.positions.get(order.symbol, Decimal(0)))
        self._account = None
        if self.exits is not None:
            self.exits.on_entry_sent(managed)
        self.gate.on_order_sent(check)
        self.sent += 1
        return [self.order_message(signal, managed, sent_ns=self.wall_clock())]

    def _decide(
        self, signal: dict[str, Any], cid: str
    ) -> tuple[str | None, SubmitOrder | None, OrderCheck | None]:
        symbol, ts = str(signal["symbol"]), int(signal["ts"])
        reason = self._pre_gates(signal, symbol, ts)
        if reason is not None:
            return reason, None, None
        book = book_from_payload(signal)
        side = Side.BUY if signal["side"] == "buy" else Side.SELL
        price = _dec(book.bids[0][0] if side is Side.BUY else book.asks[0][0])
        instrument = self.instruments.get(symbol)
        if instrument is None:
            return f"NO_INSTRUMENT: {symbol} is not in scalper.instruments", None, None
        risk = self.gate.config
        free, positions = self.account()
        quantity = scalper_quantity(
            price, free, leverage=_dec(risk.margin_leverage),
            notional_cap_usd=None if risk.notional_cap_usd is None else _dec(risk.notional_cap_usd),
            lot_step=_dec(instrument.lot_size),
        )  # fmt: skip
        if quantity <= 0 or quantity < _dec(instrument.min_qty):
            return (
                f"BELOW_VENUE_MINIMUM: {quantity} {symbol} (min {instrument.min_qty:g}) from "
                f"{free:.2f} USD free at {price}",
                None,
                None,
            )
        liquidity = self.config.gates.liquidity_by_side
        if liquidity.enabled:
            against = "ask" if side is Side.BUY else "bid"
            depth = _dec(book.depth(against, liquidity.levels))
            if depth < _dec(liquidity.alpha) * quantity:
                return (
                    f"LIQUIDITY_BY_SIDE: {against} depth {depth} over {liquidity.levels} "
                    f"levels < {liquidity.alpha:g} x {quantity}",
                    None,
                    None,
                )
        order = SubmitOrder(
            cid, symbol, side, quantity, ts, OrderType.LIMIT, price,
            reason=f"scalper {signal['signal_id']} p={float(signal.get('score', 0)):.4f}",
        )  # fmt: skip
        check = OrderCheck(order, price, free, positions, {symbol: price}, ts, free)
        denial = self.gate.denial(check)
        return denial, (None if denial else order), (None if denial else check)

    def _pre_gates(self, signal: dict[str, Any], symbol: str, ts: int) -> str | None:
        config = self.config
        busy = None if self.exits is None else self.exits.busy(symbol)
        if busy is not None:
            return busy
        last = self._last_ts.get(symbol)
        if last is not None and last - ts > config.max_signal_age_ms * 1_000_000:
            age = (last - ts) / 1e6
            return f"STALE: {age:.0f} ms behind the tape (max {config.max_signal_age_ms})"
        if config.warmup.enabled:
            first = self._first_ts.get(symbol)
            seen = 0.0 if first is None or last is None else (last - first) / 1e9
            if seen < config.warmup.seconds:
                self.warmup_drops[symbol] += 1
                return f"WARMUP: {seen:.1f} s of {symbol}'s tape < {config.warmup.seconds:g} s"
        pressure = config.backpressure
        if pressure.enabled:
            waiting = self.backlog()
            if waiting > pressure.max_queue_len:
                self.backpressure[pressure.drop_mode] += 1
                if pressure.drop_mode == "halt":
                    return f"BACKPRESSURE: {waiting} signals waiting > {pressure.max_queue_len}"
                score = float(signal.get("score", 0.0))
                if score < pressure.degrade_tau:
                    return (
                        f"BACKPRESSURE: degraded ({waiting} waiting): score {score:.3f} < "
                        f"{pressure.degrade_tau:g}"
                    )
        return None

    def order_message(
        self,
        signal: dict[str, Any],
        order: ManagedOrder,
        *,
        replayed: bool = False,
        sent_ns: int | None = None,
    ) -> Message:
        payload = {
            "signal_id": signal["signal_id"],
            "client_order_id": order.client_order_id,
            "symbol": order.order.symbol,
            "side": order.order.side.value.lower(),
            "quantity": str(order.order.quantity),
            "price": str(order.order.limit_price),
            "state": order.state.value,
            "reason": order.reason,
            "route": self.route,
            "ts": signal["ts"],
            "wall_ns": signal.get("wall_ns"),
            "replayed": replayed,
            # market-data message published -> order sent, on the wall clock (both hosts'
            # clocks when the collector runs elsewhere)
            "latency_ns": None
            if sent_ns is None or not signal.get("wall_ns")
            else sent_ns - int(signal["wall_ns"]),
        }
        return Message(ORDERS, payload, derived_id("order", order.client_order_id))


def _filled(fill: VenueFill, order: ManagedOrder) -> OrderFilled:
    return OrderFilled(
        fill.client_order_id, order.order.symbol, order.order.side, fill.quantity, fill.price,
        fill.commission, fill.ts_event,
    )  # fmt: skip


def _fill_message(fill: VenueFill, order: ManagedOrder, route: str) -> Message:
    payload = {
        "route": route,
        "fill_id": fill.fill_id,
        "client_order_id": fill.client_order_id,
        "symbol": order.order.symbol,
        "side": order.order.side.value.lower(),
        "quantity": str(fill.quantity),
        "price": str(fill.price),
        "commission": str(fill.commission),
        "ts": fill.ts_event,
    }
    return Message(FILLS, payload, derived_id("fill", fill.fill_id))


__all__ = ["APPROVED", "ExecutorStage", "ScalperVenue", "client_order_id"]
