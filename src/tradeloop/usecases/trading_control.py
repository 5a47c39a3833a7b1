"""Operator controls: halt, resume, close every position. Each is an ``audit_event`` and a
line in ``var/governance_halt.log``, so what stopped or restarted trading, who did it and
why is always on record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tradeloop.core.errors import TradingRefused
from tradeloop.core.ids import natural_key_id
from tradeloop.core.time import iso_from_ns
from tradeloop.domain.enums import Side, TradingState
from tradeloop.domain.orders import CLOSE_ALL_REASON, SubmitOrder
from tradeloop.risk.kill_switch import KillSwitch

if TYPE_CHECKING:  # the trading kernel is imported only by close-all, which uses it
    from tradeloop.usecases.paper_trading import PaperStart


class AuditTrail(Protocol):
    """Where operator actions are recorded (``store.sql.audit.SqlAuditTrail``)."""

    def record(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None: ...


def log_control(halt_log: Path, now_ns: int, action: str, actor: str, detail: str) -> None:
    halt_log.parent.mkdir(parents=True, exist_ok=True)
    with halt_log.open("a", encoding="utf-8") as handle:
        handle.write(f"{iso_from_ns(now_ns)} {action} by {actor}: {detail}\n")


def halt(
    kill_switch: KillSwitch,
    audit: AuditTrail,
    halt_log: Path,
    reason: str,
    actor: str,
    now_ns: int,
) -> None:
    """Create the kill-switch file: every mode denies new orders from its next check."""
    if not reason.strip():
        raise TradingRefused("halt needs --reason TEXT: the log must say why trading stopped")
    kill_switch.engage(f"{iso_from_ns(now_ns)} {actor}: {reason}")
    audit.record("halt", "KILL_SWITCH", {"reason": reason}, actor)
    log_control(halt_log, now_ns, "HALT", actor, reason)


def kill_switch_reason(kill_switch: KillSwitch) -> str | None:
    if not kill_switch.is_engaged():
        return None
    try:
        return kill_switch.path.read_text().strip() or "(no reason written)"
    except OSError as exc:
        return f"(unreadable: {exc})"


def resume(
    kill_switch: KillSwitch, audit: AuditTrail, halt_log: Path, actor: str, now_ns: int
) -> str | None:
    """Remove the kill-switch file; returns the reason it had (None if it was absent)."""
    reason = kill_switch_reason(kill_switch)
    if reason is None:
        return None
    kill_switch.release()
    audit.record("resume", "KILL_SWITCH", {"was": reason}, actor)
    log_control(halt_log, now_ns, "RESUME", actor, f"kill switch removed (was: {reason})")
    return reason


@dataclass(frozen=True, slots=True)
class CloseAll:
    """What close-all did: orders sent, orders denied (with reasons), orders canceled."""

    sent: list[SubmitOrder]
    denied: list[str]
    canceled: list[str]


def close_all(
    start: PaperStart, audit: AuditTrail, halt_log: Path, actor: str, now_ns: int
) -> CloseAll:
    """Cancel resting orders and send a market order closing every position of a paper
    account (filled on its next bar); trading goes REDUCING, so nothing reopens risk until
    ``tradeloop resume``. It works while the kill switch is present too (halt, then close
    all): closing orders pass it, and the kill switch leaves them resting until they fill."""
    engine = start.session.engine
    engine.gate.set_trading_state(TradingState.REDUCING, f"close-all by {actor}")
    canceled = []
    for status in engine.venue.open_orders():
        if engine.venue.cancel(status.client_order_id) is not None:
            engine.orders.on_status(engine.venue.query(status.client_order_id) or status)
            canceled.append(status.client_order_id)
    decided = start.cursor[0] if start.cursor else engine.clock.now_ns()
    sent, denied = [], []
    marks = start.session.valued_marks()
    for symbol, position in sorted(engine.portfolio.positions.items()):
        if not position.quantity:
            continue
        side = Side.SELL if position.quantity > 0 else Side.BUY
        order = SubmitOrder(
            client_order_id=natural_key_id(
                (start.session.run_id, symbol, decided, "close_all"), 24
            ),
            symbol=symbol,
            side=side,
            quantity=abs(position.quantity),
            ts_init=decided,
            reason=CLOSE_ALL_REASON,
        )
        equity = engine.portfolio.equity(marks)
        if engine.submit(order, marks[symbol], equity, decided, dict(marks)):
            sent.append(order)
        elif engine.rejected and engine.rejected[-1].client_order_id == order.client_order_id:
            denied.append(f"{symbol}: {engine.rejected[-1].reason}")
        else:
            sent.append(order)  # sent before by an earlier close-all at this bar
    detail = f"{len(sent)} closing order(s), {len(canceled)} canceled, {len(denied)} denied"
    audit.record(
        "close_all",
        start.session.run_id,
        {"sent": [o.client_order_id for o in sent], "denied": denied, "canceled": canceled},
        actor,
    )
    log_control(halt_log, now_ns, "CLOSE-ALL", actor, f"{start.session.run_id}: {detail}")
    return CloseAll(sent, denied, canceled)
