"""A simulated exchange: the venue behind backtest and paper modes, bar by bar.

It speaks the order manager's gateway (``send`` / ``query`` / ``cancel``) and matches
resting orders against each new bar of their symbol. Fill semantics:

- an order is eligible from the first bar whose timestamp is at least its send time plus
  ``latency_ms`` and later than its decision time ``ts_init`` (an order re-sent after a
  restart cannot fill on the bar it was decided on);
- MARKET fills at the bar's open;
- LIMIT buy at L: at the open if the open is at or below L (a gap in our favour), else at
  L if the bar's low reaches L; sells mirror this;
- STOP buy at S: at the open if the open is at or above S (a gap through the stop), else
  at S if the high reaches S; sells mirror this. Stops then pay slippage like market orders;
- slippage (market and stop fills): ``slippage_bps`` plus ``impact_bps`` times the
  fill's share of the bar volume, against the order;
- with ``max_participation`` set, each fill is capped at that share of the bar's volume
  (the rest waits for later bars) and a bar with no volume fills nothing;
- fees per fill: ``fee_bps`` of notional, plus ``fee_fixed`` once per order;
- IOC: what the first eligible bar does not fill is canceled; DAY: expires when a bar of a
  later session arrives; GTC: rests until filled or canceled;
- without ``allow_short``, a sell beyond the held position is rejected;
- buying power, checked at fill time (with ``max_gross_leverage`` set and the account's
  cash known): a fill that adds exposure must leave gross exposure (every position at the
  venue's last close, this symbol at the fill price) at most ``max_gross_leverage`` times
  the equity after the fill and its fee. An order sized at the decision close that gaps
  up beyond what the account can pay is CANCELED whole with the reason "insufficient
  buying power" (what backtesting.py and backtrader do), never filled on credit; the
  engine counts and reports it. Fills that reduce exposure are never held back;
- a bar at or before the last bar already matched for its symbol is ignored, so a feed
  replayed after a restart cannot match the same bar twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pydantic import Field

from tradeloop.core.config import FrozenConfig
from tradeloop.domain.enums import OrderType, Side, TimeInForce
from tradeloop.domain.money import quantize_money
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.order_manager import VenueFill, VenueOrderStatus, VenueRejection

BPS = Decimal(10_000)
STATE_VERSION = 1  # of the persisted venue state (exchange_state.py)


class ExchangeModel(FrozenConfig):
    """Costs and frictions of the simulated exchange."""

    fee_bps: float = Field(5.0, ge=0, le=1000, description="fee per fill, bps of notional")
    fee_fixed: float = Field(0.0, ge=0, description="fixed fee per order (first fill)")
    slippage_bps: float = Field(0.0, ge=0, le=1000, description="market/stop fills, adverse")
    impact_bps: float = Field(
        0.0, ge=0, le=10_000, description="extra slippage per unit of bar-volume share"
    )
    max_participation: float | None = Field(
        None,
        gt=0,
        le=1,
        description="largest share of a bar's volume one fill may take (unset: no cap)",
    )
    latency_ms: int = Field(0, ge=0, description="orders reach the book this much later")
    lot_size: float = Field(0.0, ge=0, description="fill quantities round down to it (0: any)")
    allow_short: bool = Field(True, description="may a sell exceed the held position?")
    max_gross_leverage: float | None = Field(
        None,
        gt=0,
        description="buying power at fill time: gross exposure <= this x equity (unset: none)",
    )


INSUFFICIENT_BUYING_POWER = "insufficient buying power"


@dataclass(slots=True)
class _Resting:
    order: SubmitOrder
    venue_order_id: str
    eligible_ts: int
    session: str
    filled: Decimal = Decimal(0)
    fills: int = 0
    state: OrderState = OrderState.ACCEPTED
    reason: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.order.quantity - self.filled


Event = VenueFill | VenueOrderStatus


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _utc_day(ts: int) -> object:
    return ts // 86_400_000_000_000


class SimulatedExchange:
    """Order book of resting orders per symbol, matched against bars; positions kept as
    the venue's truth (for reconciliation)."""

    def __init__(
        self,
        model: ExchangeModel,
        clock: Callable[[], int],
        session_of: Callable[[int], object] = _utc_day,
        id_prefix: str = "sim",
        cash: Callable[[], Decimal] | None = None,
    ) -> None:
        self.model = model
        self.id_prefix = id_prefix  # venue order and fill ids: unique per account
        self._clock = clock
        self._cash = cash  # the account's cash before this bar's fills (buying power)
        self._marks: dict[str, Decimal] = {}
        self._cash_moved = Decimal(0)  # by fills of the bar being matched
        self._session_of = session_of
        self._orders: dict[str, _Resting] = {}
        self._book: dict[str, list[str]] = {}
        self.positions: dict[str, Decimal] = {}
        self._fills: dict[str, list[VenueFill]] = {}
        self._last_bar: dict[str, int] = {}
        self._sequence = 0

    # -- gateway ----------------------------------------------------------------------------

    def send(self, order: SubmitOrder) -> str:
        known = self._orders.get(order.client_order_id)
        if known is not None:  # the same client id twice is the same order
            return known.venue_order_id
        if not self.model.allow_short and order.side is Side.SELL:
            held = self.positions.get(order.symbol, Decimal(0))
            committed = sum(
                (r.remaining for r in self._resting(order.symbol) if r.order.side is Side.SELL),
                Decimal(0),
            )
            if order.quantity + committed > held:
                raise VenueRejection(
                    f"short selling disabled: sell {order.quantity} "
                    f"{order.symbol} with {held - committed} available"
                )
        self._sequence += 1
        now = self._clock()
        resting = _Resting(
            order=order,
            venue_order_id=f"{self.id_prefix}-{self._sequence}",
            eligible_ts=now + self.model.latency_ms * 1_000_000,
            session=str(self._session_of(now)),
        )
        self._orders[order.client_order_id] = resting
        self._book.setdefault(order.symbol, []).append(order.client_order_id)
        return resting.venue_order_id

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        resting = self._orders.get(client_order_id)
        return None if resting is None else self._status(resting)

    def cancel(self, client_order_id: str) -> VenueOrderStatus | None:
        resting = self._orders.get(client_order_id)
        if resting is None or resting.state not in (
            OrderState.ACCEPTED,
            OrderState.PARTIALLY_FILLED,
        ):
            return None if resting is None else self._status(resting)
        self._close(resting, OrderState.CANCELED, "canceled on request")
        return self._status(resting)

    def open_orders(self) -> list[VenueOrderStatus]:
        # The book holds exactly the resting orders: no scan of every order ever sent.
        return [
            self._status(self._orders[client_id])
            for book in self._book.values()
            for client_id in book
        ]

    # -- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the venue knows, JSON-ready (Decimals as exact strings)."""
        orders = []
        for resting in self._orders.values():
            o = resting.order
            orders.append(
                {
                    "client_order_id": o.client_order_id,
                    "symbol": o.symbol,
                    "side": str(o.side),
                    "quantity": str(o.quantity),
                    "ts_init": o.ts_init,
                    "order_type": str(o.order_type),
                    "limit_price": _dec(o.limit_price),
                    "stop_price": _dec(o.stop_price),
                    "time_in_force": str(o.time_in_force),
                    "venue_order_id": resting.venue_order_id,
                    "eligible_ts": resting.eligible_ts,
                    "session": resting.session,
                    "filled": str(resting.filled),
                    "fills": resting.fills,
                    "state": str(resting.state),
                    "reason": resting.reason,
                }
            )
        return {
            "version": STATE_VERSION,
            "sequence": self._sequence,
            "positions": {s: str(q) for s, q in self.positions.items()},
            "last_bar_ts": dict(self._last_bar),
            "book": {s: list(ids) for s, ids in self._book.items()},
            "orders": orders,
            "fills": {
                cid: [
                    {
                        "fill_id": f.fill_id,
                        "quantity": str(f.quantity),
                        "price": str(f.price),
                        "commission": str(f.commission),
                        "ts_event": f.ts_event,
                    }
                    for f in fills
                ]
                for cid, fills in self._fills.items()
            },
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load ``state()`` output into this (fresh) exchange; KeyError/ValueError if bad."""
        for row in state["orders"]:
            order = SubmitOrder(
                client_order_id=row["client_order_id"],
                symbol=row["symbol"],
                side=Side(row["side"]),
                quantity=Decimal(row["quantity"]),
                ts_init=int(row["ts_init"]),
                order_type=OrderType(row["order_type"]),
                limit_price=None if row["limit_price"] is None else Decimal(row["limit_price"]),
                stop_price=None if row["stop_price"] is None else Decimal(row["stop_price"]),
                time_in_force=TimeInForce(row["time_in_force"]),
            )
            self._orders[order.client_order_id] = _Resting(
                order=order,
                venue_order_id=row["venue_order_id"],
                eligible_ts=int(row["eligible_ts"]),
                session=str(row["session"]),
                filled=Decimal(row["filled"]),
                fills=int(row["fills"]),
                state=OrderState(row["state"]),
                reason=row["reason"],
            )
        self._book = {s: list(ids) for s, ids in state["book"].items()}
        self.positions = {s: Decimal(q) for s, q in state["positions"].items()}
        self._fills = {
            cid: [
                VenueFill(
                    f["fill_id"],
                    cid,
                    Decimal(f["quantity"]),
                    Decimal(f["price"]),
                    Decimal(f["commission"]),
                    int(f["ts_event"]),
                )
                for f in fills
            ]
            for cid, fills in state["fills"].items()
        }
        self._last_bar = {s: int(ts) for s, ts in state.get("last_bar_ts", {}).items()}
        self._sequence = int(state["sequence"])

    # -- market -----------------------------------------------------------------------------

    def on_bar(self, bar: BarView) -> list[Event]:
        """Match the symbol's resting orders against ``bar``; fills and state changes."""
        events: list[Event] = []
        if bar.ts <= self._last_bar.get(bar.symbol, -1):
            self._marks.setdefault(bar.symbol, Decimal(repr(bar.close)))
            return events  # matched before (a replayed feed after a restart)
        self._last_bar[bar.symbol] = bar.ts
        session = str(self._session_of(bar.ts))
        self._cash_moved = Decimal(0)
        try:
            self._match_book(bar, session, events)
        finally:
            self._marks[bar.symbol] = Decimal(repr(bar.close))
        return events

    def _match_book(self, bar: BarView, session: str, events: list[Event]) -> None:
        for client_id in list(self._book.get(bar.symbol, [])):
            resting = self._orders[client_id]
            tif = resting.order.time_in_force
            if tif is TimeInForce.DAY and session != resting.session:
                events.append(self._close(resting, OrderState.EXPIRED, "DAY order: session ended"))
                continue
            if bar.ts < resting.eligible_ts or bar.ts <= resting.order.ts_init:
                continue  # never the bar it was decided on (a re-send after a restart)
            fill = self._match(resting, bar)
            if isinstance(fill, VenueOrderStatus):
                events.append(fill)  # canceled: the account could not pay for it
                continue
            if fill is not None:
                events.append(fill)
            if tif is TimeInForce.IOC and resting.remaining > 0:
                events.append(self._close(resting, OrderState.CANCELED, "IOC: remainder canceled"))

    def _match(self, resting: _Resting, bar: BarView) -> Event | None:
        order = resting.order
        buy = order.side is Side.BUY
        o = Decimal(repr(bar.open))
        slipped = False
        if order.order_type is OrderType.MARKET:
            price, slipped = o, True
        elif order.order_type is OrderType.LIMIT:
            h, lo = Decimal(repr(bar.high)), Decimal(repr(bar.low))
            limit = order.limit_price or Decimal(0)
            if (o <= limit) if buy else (o >= limit):
                price = o
            elif (lo <= limit) if buy else (h >= limit):
                price = limit
            else:
                return None
        else:
            h, lo = Decimal(repr(bar.high)), Decimal(repr(bar.low))
            stop = order.stop_price or Decimal(0)
            if (o >= stop) if buy else (o <= stop):
                price = o
            elif (h >= stop) if buy else (lo <= stop):
                price = stop
            else:
                return None
            slipped = True
        volume = Decimal(repr(bar.volume))
        quantity = resting.remaining
        if self.model.max_participation is not None:
            quantity = min(quantity, volume * Decimal(repr(self.model.max_participation)))
        if self.model.lot_size > 0:
            lot = Decimal(repr(self.model.lot_size))
            quantity = (quantity / lot).to_integral_value(rounding=ROUND_DOWN) * lot
        if quantity <= 0:
            return None
        if slipped:
            share = float(quantity / volume) if volume > 0 else 0.0
            bps = Decimal(repr(self.model.slippage_bps + self.model.impact_bps * share))
            price = price * (Decimal(1) + (bps / BPS if buy else -bps / BPS))
        price = quantize_money(price)  # as a venue reports it: the journal stores it exactly
        fee = quantity * price * Decimal(repr(self.model.fee_bps)) / BPS
        if resting.fills == 0:
            fee += Decimal(repr(self.model.fee_fixed))
        fee = quantize_money(fee)
        signed = quantity if buy else -quantity
        shortfall = self._shortfall(order.symbol, signed, price, fee)
        if shortfall:
            return self._close(resting, OrderState.CANCELED, shortfall)
        self._cash_moved -= signed * price + fee
        resting.fills += 1
        resting.filled += quantity
        resting.state = OrderState.FILLED if resting.remaining == 0 else OrderState.PARTIALLY_FILLED
        self.positions[order.symbol] = self.positions.get(order.symbol, Decimal(0)) + signed
        if resting.state is OrderState.FILLED:
            self._book[order.symbol].remove(order.client_order_id)
        fill = VenueFill(
            fill_id=f"{resting.venue_order_id}-{resting.fills}",
            client_order_id=order.client_order_id,
            quantity=quantity,
            price=price,
            commission=fee,
            ts_event=bar.ts,
        )
        self._fills.setdefault(order.client_order_id, []).append(fill)
        return fill

    def _shortfall(self, symbol: str, signed: Decimal, price: Decimal, fee: Decimal) -> str:
        """Why the account cannot take this fill ("" when it can, or nothing is checked)."""
        lev = self.model.max_gross_leverage
        held = self.positions.get(symbol, Decimal(0))
        adds_exposure = abs(held + signed) > abs(held)
        if lev is None or self._cash is None or not adds_exposure:
            return ""
        cash = self._cash() + self._cash_moved - signed * price - fee
        marks = {**self._marks, symbol: price}
        after = {**self.positions, symbol: held + signed}
        # A held symbol with no price seen yet (just after a restart) is left out of both.
        valued = {s: q * marks[s] for s, q in after.items() if q and s in marks}
        equity = cash + sum(valued.values(), Decimal(0))
        gross = sum((abs(v) for v in valued.values()), Decimal(0))
        limit = equity * Decimal(repr(lev))
        if gross <= limit:
            return ""
        return (
            f"{INSUFFICIENT_BUYING_POWER} at fill: {symbol} {signed:+} at {price} makes gross "
            f"exposure {gross:.2f} > {lev} x equity {equity:.2f}; canceled, not filled on credit"
        )

    def fills_for(self, client_order_id: str) -> list[VenueFill]:
        """Every fill of an order, as the venue recorded it (for reconciliation)."""
        return list(self._fills.get(client_order_id, []))

    def _resting(self, symbol: str) -> list[_Resting]:
        return [self._orders[c] for c in self._book.get(symbol, [])]

    def _close(self, resting: _Resting, state: OrderState, reason: str) -> VenueOrderStatus:
        resting.state, resting.reason = state, reason
        book = self._book.get(resting.order.symbol, [])
        if resting.order.client_order_id in book:
            book.remove(resting.order.client_order_id)
        return self._status(resting)

    def _status(self, resting: _Resting) -> VenueOrderStatus:
        return VenueOrderStatus(
            resting.order.client_order_id,
            resting.state,
            resting.filled,
            resting.venue_order_id,
            resting.reason,
        )
