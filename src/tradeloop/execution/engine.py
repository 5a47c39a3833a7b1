"""The trading engine: the one order path every mode shares, and the backtest loop.

Order path: strategy command -> pre-trade risk (kill switch, limits) -> venue -> fills ->
portfolio. Only the clock, the bar feed and the venue change between modes.
"""

from __future__ import annotations

from decimal import Decimal

from tradeloop.core.clock import SimClock
from tradeloop.domain.order_lifecycle import ManagedOrder, OrderState
from tradeloop.domain.orders import CLOSE_ALL_REASON, OrderFilled, OrderRejected, SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.journal import InMemoryOrderJournal
from tradeloop.execution.order_manager import OrderJournal, OrderManager, VenueFill
from tradeloop.execution.portfolio import Portfolio
from tradeloop.execution.sim_exchange import (
    INSUFFICIENT_BUYING_POWER,
    ExchangeModel,
    SimulatedExchange,
)
from tradeloop.execution.venue import Exchange, to_decimal
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.gate import OrderCheck, RiskGate
from tradeloop.risk.kill_switch import KillSwitch


class TradingEngine:
    """Routes orders through risk and the order manager to an exchange; books fills."""

    def __init__(
        self,
        *,
        venue: Exchange,
        portfolio: Portfolio,
        risk: RiskConfig,
        kill_switch: KillSwitch,
        journal: OrderJournal | None = None,
        clock: SimClock | None = None,
        gate: RiskGate | None = None,
    ) -> None:
        self.venue = venue
        self.portfolio = portfolio
        self.risk = risk
        self.kill_switch = kill_switch
        self.gate = gate if gate is not None else RiskGate(risk, kill_switch)
        self.clock = clock or SimClock()
        self.orders = OrderManager(
            journal if journal is not None else InMemoryOrderJournal(),
            venue,
            self.clock.now_ns,
            on_fill=self._book,
        )
        self.rejected: list[OrderRejected] = []
        self.fills: list[OrderFilled] = []

    def submit(
        self,
        order: SubmitOrder,
        reference_price: Decimal,
        equity: Decimal,
        ts_now: int,
        marks: dict[str, Decimal] | None = None,
    ) -> bool:
        """Send ``order`` unless the risk gate denies it; an id already journaled is never
        re-sent. ``marks``: the latest price of every held symbol (exposure rules)."""
        self._advance(ts_now)
        if self.orders.journal.get(order.client_order_id) is not None:
            return False
        check = OrderCheck(
            order=order,
            price=reference_price,
            equity=equity,
            positions={s: p.quantity for s, p in self.portfolio.positions.items() if p.quantity},
            marks=marks if marks is not None else {},
            ts=ts_now,
            cash=self.portfolio.cash,
        )
        denial = self.gate.denial(check)
        if denial is not None:
            self.rejected.append(OrderRejected(order.client_order_id, order.symbol, denial, ts_now))
            return False
        managed = self.orders.submit(order)
        unconfirmed = managed.state is OrderState.SUBMITTED and managed.reason.startswith(
            "unconfirmed"
        )
        self.gate.on_venue_result(not unconfirmed, managed.reason)
        if managed.state is OrderState.REJECTED:
            self.rejected.append(
                OrderRejected(order.client_order_id, order.symbol, managed.reason, ts_now)
            )
            return False
        self.gate.on_order_sent(check)
        return True

    def on_bar(self, bar: BarView) -> None:
        """Let the exchange match ``bar``; apply its fills (once) and order updates."""
        self._advance(bar.ts)
        for event in self.venue.on_bar(bar):
            if isinstance(event, VenueFill):
                self.orders.on_fill(event)
                continue
            self.orders.on_status(event)
            if event.reason.startswith(INSUFFICIENT_BUYING_POWER):
                order = self.orders.journal.get(event.client_order_id)
                symbol = order.order.symbol if order else bar.symbol
                self.rejected.append(
                    OrderRejected(event.client_order_id, symbol, event.reason, bar.ts)
                )

    def halt_if_killed(self, ts_now: int) -> None:
        """With the kill switch present, cancel every order still waiting for a fill.
        (New orders are checked in ``submit``; with nothing resting there is nothing to
        cancel, so the file is only looked at when something is.)"""
        resting = [
            status
            for status in self.venue.open_orders()
            if not self._is_close_all(status.client_order_id)  # flattening goes on
        ]
        if not resting or not self.kill_switch.is_engaged():
            return
        self._advance(ts_now)
        for status in resting:
            canceled = self.venue.cancel(status.client_order_id)
            if canceled is not None:
                self.orders.on_status(canceled)
            order = self.orders.journal.get(status.client_order_id)
            self.rejected.append(
                OrderRejected(
                    status.client_order_id,
                    order.order.symbol if order else "?",
                    "KILL_SWITCH: canceled before it could fill",
                    ts_now,
                )
            )

    def _is_close_all(self, client_order_id: str) -> bool:
        managed = self.orders.journal.get(client_order_id)
        return managed is not None and managed.order.reason == CLOSE_ALL_REASON

    def _advance(self, ts: int) -> None:
        if ts > self.clock.now_ns():
            self.clock.advance_to(ts)

    def _book(self, fill: VenueFill, order: ManagedOrder) -> None:
        booked = OrderFilled(
            client_order_id=fill.client_order_id,
            symbol=order.order.symbol,
            side=order.order.side,
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
            ts_event=fill.ts_event,
        )
        closed = len(self.portfolio.closed_trades)
        self.portfolio.apply(booked)
        self.fills.append(booked)
        for trade in self.portfolio.closed_trades[closed:]:
            self.gate.on_trade_closed(trade.pnl, fill.ts_event)


def exchange_model(execution: ExecutionConfig, risk: RiskConfig | None = None) -> ExchangeModel:
    """The simulated exchange's frictions from the execution config; with ``risk``, its
    ``max_gross_leverage`` is the account's buying power at fill time too."""
    return ExchangeModel(
        max_gross_leverage=risk.max_gross_leverage if risk is not None else None,
        fee_bps=execution.commission_rate * 10_000,
        fee_fixed=execution.fee_fixed_usd,
        slippage_bps=execution.slippage_bps,
        impact_bps=execution.impact_bps,
        max_participation=execution.max_participation,
        latency_ms=execution.latency_ms,
        allow_short=execution.allow_short,
    )


def simulated_engine(
    execution: ExecutionConfig, risk: RiskConfig, kill_switch: KillSwitch
) -> TradingEngine:
    """An engine on the simulated exchange with a fresh portfolio holding the starting cash."""
    clock = SimClock()
    portfolio = Portfolio(cash=to_decimal(execution.initial_cash_usd))
    return TradingEngine(
        venue=SimulatedExchange(
            exchange_model(execution, risk), clock=clock.now_ns, cash=lambda: portfolio.cash
        ),
        portfolio=portfolio,
        risk=risk,
        kill_switch=kill_switch,
        clock=clock,
    )
