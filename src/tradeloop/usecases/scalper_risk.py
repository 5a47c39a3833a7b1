"""The risk service's stage: approved candidates in, ``sig:approved`` or a drop out.

It drops, with the runbook's reasons, what must not reach the executor: the kill switch
or a HALT control event, the trading state HALTED, the day's loss cap (``daily_cap``), a
losing streak's cooldown (``loss_streak``) and an entry whose liquidation price would sit
nearer than ``sl_buffer_multiplier`` x the assumed stop (``near_liquidation_long|short``).
The loss cap and the streak come from the venue's fills (``fills``): realised PnL per
round trip, applied once per fill id, and rebuilt from the stored fills on a restart.

Each verdict is stored (``stream_decision``) before the signal is acknowledged: a signal
delivered again gets the same verdict, whatever changed since.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tradeloop.core.bus import Message
from tradeloop.domain.enums import Side, TradingState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.risk.gate import OrderCheck, RiskGate
from tradeloop.risk.rules import (
    RuleInput,
    daily_cap,
    halted,
    kill_switch,
    loss_streak,
    near_liquidation,
)
from tradeloop.usecases.canary_supervisor import CanarySupervisor
from tradeloop.usecases.stream_stage import (
    APPROVED,
    CONTROL,
    FILLS,
    SCORED,
    Decisions,
    derived_id,
    drop,
)

SCREEN = (kill_switch, halted, daily_cap, loss_streak, near_liquidation)
FILL_STAGE = "risk-fills"


@dataclass(slots=True)
class RoundTripLedger:
    """Signed position and average entry per symbol; a round trip closes at flat."""

    base_equity: Decimal
    realised: Decimal = Decimal(0)
    positions: dict[str, Decimal] = field(default_factory=dict)
    entry: dict[str, Decimal] = field(default_factory=dict)
    trip_pnl: dict[str, Decimal] = field(default_factory=dict)

    def apply(self, symbol: str, signed: Decimal, price: Decimal, fee: Decimal) -> Decimal | None:
        """Apply one fill; the round trip's PnL when it brought the position to flat."""
        held = self.positions.get(symbol, Decimal(0))
        pnl = -fee
        if held and (held > 0) != (signed > 0):  # reduces (or flips)
            closed = min(abs(signed), abs(held))
            direction = 1 if held > 0 else -1
            pnl += closed * (price - self.entry[symbol]) * direction
        after = held + signed
        if after and (not held or (held > 0) != (after > 0)):
            self.entry[symbol] = price  # opened or flipped: a new entry price
        elif after and abs(after) > abs(held):
            self.entry[symbol] = (self.entry[symbol] * abs(held) + price * abs(signed)) / abs(after)
        self.positions[symbol] = after
        self.realised += pnl
        trip = self.trip_pnl.get(symbol, Decimal(0)) + pnl
        if after == 0:
            self.trip_pnl.pop(symbol, None)
            return trip
        self.trip_pnl[symbol] = trip
        return None

    @property
    def equity(self) -> Decimal:
        return self.base_equity + self.realised


def apply_control(gate: RiskGate, event: dict[str, Any], *, crit_halts: bool = True) -> None:
    """A control event on the gate's stored trading state: HALT halts, and so does CRIT
    unless the fail-safe moves execution to paper instead (``crit_halts`` False); a halt
    stops new risk until an operator resumes; RESUME makes it ACTIVE again."""
    kind = str(event.get("type", "")).upper()
    reason = str(event.get("reason", ""))[:200]
    if kind == "HALT" or (kind == "CRIT" and crit_halts):
        gate.set_trading_state(TradingState.HALTED, f"control event {kind}: {reason}")
    elif kind == "RESUME" and gate.state.trading_state is TradingState.HALTED:
        gate.set_trading_state(TradingState.ACTIVE, f"control event RESUME: {reason}")


@dataclass(slots=True)
class RiskStage:
    gate: RiskGate
    decisions: Decisions
    ledger: RoundTripLedger
    fills: Decisions  # the fills applied (stage ``risk-fills``)
    name: str = "risk"
    drops: Counter[str] = field(default_factory=Counter)
    passed: int = 0
    health: dict[str, Any] = field(default_factory=dict)  # the data-health checks' last pass
    supervisor: CanarySupervisor | None = None  # the canary's guard rails
    crit_halts: bool = True  # False: the fail-safe sends a CRIT's signals to paper instead
    clock: Callable[[], int] = time.time_ns
    route_ledgers: dict[str, RoundTripLedger] = field(default_factory=dict)

    @property
    def equity(self) -> Decimal:
        """Base equity plus what every route realised (each route holds its own positions)."""
        return self.ledger.equity + sum((r.realised for r in self.route_ledgers.values()),
                                        Decimal(0))  # fmt: skip

    def topics(self) -> tuple[str, ...]:
        return (CONTROL, FILLS, SCORED)

    def rebuild(self, stored_fills: list[dict[str, Any]]) -> None:
        """Replay the fills stored before a restart (oldest first) into the ledger."""
        for fill in sorted(stored_fills, key=lambda f: (int(f["ts"]), str(f["fill_id"]))):
            self._apply_fill(fill)

    def handle(self, message: Message) -> list[Message]:
        if message.topic == CONTROL:
            self._control(message.payload)
            return []
        if message.topic == FILLS:
            if self.fills.stored(message) is None:
                trip = self._apply_fill(message.payload)
                self.fills.add(message, {"outcome": "fill", **message.payload})
                if trip is not None and self.supervisor is not None:
                    self.supervisor.on_trade(str(message.payload.get("route", "")), float(trip))
            return []
        if self.supervisor is not None and "features" in message.payload:
            self.supervisor.on_scored(self.clock(), message.payload["features"])
        if not message.payload.get("approved"):
            return []  # the scorer's no: not a signal
        stored = self.decisions.stored(message)
        if stored is not None:
            return [self._output(message, stored)]
        reason = self._screen(message.payload)
        decision = {"outcome": "drop", "reason": reason} if reason else {"outcome": "approved"}
        self.decisions.add(message, decision)
        return []

    def commit(self) -> list[Message]:
        self.fills.commit()
        out = [self._output(m, d) for m, d in self.decisions.commit()]
        if self.supervisor is not None:
            out += self.supervisor.check(self.clock())
        return out

    def _output(self, message: Message, decision: dict[str, Any]) -> Message:
        if decision["outcome"] == "approved":
            self.passed += 1
            out = {**message.payload, "risk": "ok"}
            return Message(APPROVED, out, derived_id("approved", message.message_id))
        reason = str(decision["reason"])
        self.drops[reason.partition(":")[0]] += 1
        return drop(self.name, message, reason)

    def _control(self, event: dict[str, Any]) -> None:
        apply_control(self.gate, event, crit_halts=self.crit_halts)
        if self.supervisor is not None:
            self.supervisor.on_control(event, self.clock())

    def _screen(self, signal: dict[str, Any]) -> str | None:
        price = Decimal(repr(float(signal["price"])))
        side = Side.BUY if signal["side"] == "buy" else Side.SELL
        probe = SubmitOrder(
            f"probe-{signal['signal_id']}", str(signal["symbol"]), side, Decimal(1),
            int(signal["ts"]),
        )  # fmt: skip
        check = OrderCheck(probe, price, self.equity, {}, {}, int(signal["ts"]))
        rule_input = RuleInput(
            check=check, state=self.gate.state, config=self.gate.config,
            kill_switch=self.gate.kill_switch, hours=None, zone=ZoneInfo("UTC"),
            session_start_ns=None, first_day=False, correlation=None,
        )  # fmt: skip
        for rule in SCREEN:
            if rule is near_liquidation and self.gate.config.margin_leverage <= 1:
                continue
            reason = rule(rule_input)
            if reason is not None:
                if rule is near_liquidation:
                    self.gate.triggers[reason.split(":")[1].strip()] += 1
                return reason
        return None

    def _apply_fill(self, fill: dict[str, Any]) -> Decimal | None:
        quantity = Decimal(str(fill["quantity"]))
        signed = quantity if fill["side"] == "buy" else -quantity
        route = str(fill.get("route") or "")
        ledger = (
            self.route_ledgers.setdefault(route, RoundTripLedger(Decimal(0)))
            if route
            else self.ledger
        )
        trip = ledger.apply(
            str(fill["symbol"]), signed, Decimal(str(fill["price"])),
            Decimal(str(fill["commission"])),
        )  # fmt: skip
        ts = int(fill["ts"])
        self.gate.on_equity(ts, self.equity)
        if trip is not None:
            self.gate.on_trade_closed(trip, ts)
        return trip
