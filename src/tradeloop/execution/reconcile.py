"""Reconciliation on start: our journal and ledger against the venue's truth.

Run before a paper or live session trades. What can be proven safe is adopted, with an
audited correction for each change: fills the venue made that we never applied (a crash
between its fill and our journal) are applied through the order manager (exactly once by
fill id), and the venue's state of each order we know is adopted. What cannot be explained
makes the session refuse to trade, saying why: an open venue order we never wrote (someone
else is trading the account), or positions that still differ after every fill is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal

from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.execution.order_manager import OrderManager
from tradeloop.execution.venue import Exchange


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Corrections made (audit them) and reasons to refuse trading (empty: safe)."""

    corrections: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        return not self.refusals


def reconcile(
    orders: OrderManager,
    venue: Exchange,
    known_orders: list[str],
    ledger_positions: Callable[[], dict[str, Decimal]],
    venue_positions: dict[str, Decimal],
    journaled: Collection[str] | None = None,
) -> Reconciliation:
    """Bring ``orders`` (and, through its fill hook, the ledger) in line with ``venue``.

    ``known_orders``: client ids of every order of this account in our journal that may
    still matter (not terminal, or terminal with fewer fills than the venue may have).
    ``ledger_positions`` is called after the missing fills were applied. ``journaled``:
    every client id this journal ever wrote (default ``known_orders``); a venue open
    order outside it is foreign.
    """
    corrections: list[str] = []
    refusals: list[str] = []
    for client_id in known_orders:
        for fill in venue.fills_for(client_id):
            if orders.on_fill(fill) is not None:
                corrections.append(
                    f"applied missing fill {fill.fill_id} of {client_id}: "
                    f"{fill.quantity} @ {fill.price}"
                )
        status = venue.query(client_id)
        ours = orders.journal.get(client_id)
        if status is None or ours is None:
            continue
        before = ours.state
        after = orders.on_status(status)
        acknowledged = before is OrderState.SUBMITTED and status.state is OrderState.ACCEPTED
        if after is not None and after.state != before and not acknowledged:
            corrections.append(
                f"order {client_id}: {before} -> {after.state} (venue says {status.state})"
            )
    known = set(known_orders if journaled is None else journaled)
    for status in venue.open_orders():
        if status.client_order_id not in known:
            refusals.append(
                f"venue has open order {status.client_order_id} that this journal "
                "never wrote: another process may be trading this account"
            )
    ledger = ledger_positions()
    for symbol in sorted(set(ledger) | set(venue_positions)):
        ours_qty = ledger.get(symbol, Decimal(0))
        theirs = venue_positions.get(symbol, Decimal(0))
        if ours_qty != theirs:
            refusals.append(
                f"position {symbol}: ledger {ours_qty} vs venue {theirs} after "
                "applying every venue fill; fix by hand, then restart"
            )
    return Reconciliation(corrections, refusals)
