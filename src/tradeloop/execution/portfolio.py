"""The portfolio ledger: cash and positions in Decimal so that it adds up exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradeloop.domain.money import quantize_money
from tradeloop.domain.orders import OrderFilled


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip: from flat to a position and back to flat."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    ts_entry: int
    ts_exit: int
    pnl: Decimal
    commission: Decimal


@dataclass(slots=True)
class _Position:
    quantity: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)  # signed cost basis of the open quantity: exact sums only
    ts_opened: int = 0
    commission: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)

    @property
    def avg_price(self) -> Decimal:
        return self.cost / self.quantity if self.quantity else Decimal(0)


@dataclass(slots=True)
class Portfolio:
    """Cash, positions and closed trades; ``equity = cash + sum(quantity * mark)``."""

    cash: Decimal
    positions: dict[str, _Position] = field(default_factory=dict)
    closed_trades: list[ClosedTrade] = field(default_factory=list)
    commissions: Decimal = Decimal(0)

    def quantity(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.quantity if position else Decimal(0)

    def entry(self, symbol: str) -> tuple[Decimal, int]:
        """Average entry price and opening time of the open position (0, 0 when flat)."""
        position = self.positions.get(symbol)
        if position is None or not position.quantity:
            return Decimal(0), 0
        return position.avg_price, position.ts_opened

    @classmethod
    def replayed(cls, cash: Decimal, fills: list[OrderFilled]) -> Portfolio:
        """The ledger that ``fills`` (in booking order) make from ``cash``: after a restart
        the ledger is rebuilt from the journal's fills, never from a separate copy."""
        portfolio = cls(cash=cash)
        for fill in fills:
            portfolio.apply(fill)
        return portfolio

    def apply(self, fill: OrderFilled) -> None:
        """Book a fill: move cash, update the position, close trades that went flat."""
        signed = fill.signed_quantity
        self.cash -= signed * fill.price + fill.commission
        self.commissions += fill.commission
        position = self.positions.setdefault(fill.symbol, _Position())
        if position.quantity == 0:
            position.ts_opened = fill.ts_event
            position.cost = signed * fill.price
            position.quantity = signed
            position.commission = fill.commission
            position.realized = Decimal(0)
            return
        position.commission += fill.commission
        if (position.quantity > 0) == (signed > 0):
            position.cost += signed * fill.price
            position.quantity += signed
            return
        closing = min(abs(signed), abs(position.quantity))
        direction = Decimal(1) if position.quantity > 0 else Decimal(-1)
        # Closing everything releases the whole cost basis: no division, so a round trip's
        # realized PnL equals its cash flows exactly; partial closes release a share at
        # money precision (a 28-digit quotient would make later sums round, and the trade's
        # PnL would miss its cash flows in the last digit).
        released = (
            position.cost
            if closing == abs(position.quantity)
            else quantize_money(position.cost * closing / abs(position.quantity))
        )
        position.realized += direction * closing * fill.price - released
        remaining = position.quantity + signed
        if remaining == 0 or (remaining > 0) != (position.quantity > 0):
            self.closed_trades.append(
                ClosedTrade(
                    symbol=fill.symbol,
                    quantity=position.quantity,
                    entry_price=position.avg_price,
                    exit_price=fill.price,
                    ts_entry=position.ts_opened,
                    ts_exit=fill.ts_event,
                    pnl=position.realized - position.commission,
                    commission=position.commission,
                )
            )
            position.quantity = remaining
            position.cost = remaining * fill.price
            position.ts_opened = fill.ts_event
            position.commission = Decimal(0)
            position.realized = Decimal(0)
        else:
            position.cost -= released
            position.quantity = remaining

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        """Cash plus every position valued at ``marks`` (a missing mark is an error)."""
        value = self.cash
        for symbol, position in self.positions.items():
            if position.quantity:
                value += position.quantity * marks[symbol]
        return value

    def unrealized_pnl(self, marks: dict[str, Decimal]) -> dict[str, Decimal]:
        """Open PnL per symbol at ``marks`` (value at the mark minus the cost basis);
        symbols without a mark are left out."""
        return {
            symbol: position.quantity * marks[symbol] - position.cost
            for symbol, position in self.positions.items()
            if position.quantity and symbol in marks
        }

    def gross_exposure(self, marks: dict[str, Decimal], equity: Decimal) -> float:
        """Sum of |position value| over equity (0.0 when flat or equity is not positive)."""
        if equity <= 0 or not any(p.quantity for p in self.positions.values()):
            return 0.0
        gross = sum(
            (abs(p.quantity * marks[s]) for s, p in self.positions.items() if p.quantity),
            Decimal(0),
        )
        return float(gross / equity) if gross and equity > 0 else 0.0
