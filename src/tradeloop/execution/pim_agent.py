"""The ``pim_agent`` strategy: a registered agent's deterministic policy turns each
session's market state into a target position, and the difference from the held position
into one market order, through the one order path every mode shares (risk checks and the
kill switch decide after it, as for any strategy).

At each bar the state (58 columns, ``state_00``..``state_57``, prepared by the plan) gets
the position fields from the ledger; a stop-loss (``stop_base + stop_risk * risk_score``)
or a take-profit (the curve's optimal exit, when positive) flattens first, as in training.
Every decision, with or without an order, goes to ``decisions`` with the state's hash
(the order's reason carries the same hash, so a refused order is traced back to it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from tradeloop.core.time import NS_PER_DAY
from tradeloop.domain.enums import Side
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.strategy import StrategyContext, make_order
from tradeloop.models.rl.market_state import INDEX, STATE_COLUMNS, with_position
from tradeloop.models.rl.policy import AgentPolicy

DIRECTION_NAMES = ("HOLD", "LONG", "SHORT")


def state_hash(state: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(state, dtype=np.float32).tobytes()).hexdigest()[:16]


class PimAgentStrategy:
    COLUMNS = STATE_COLUMNS

    def __init__(
        self,
        policy: AgentPolicy,
        sizes: tuple[float, ...],
        *,
        allow_short: bool = True,
        stops: tuple[float, float] = (0.02, 0.08),
        cap: float = 1.0,
        decisions: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.policy, self.sizes, self.allow_short = policy, sizes, allow_short
        self.stop_base, self.stop_risk = stops
        self.cap = cap  # the risk limits' largest share of equity for one position
        self.decisions = decisions

    def _state(self, bar: BarView, context: StrategyContext) -> np.ndarray | None:
        values = [bar.extra.get(c) for c in STATE_COLUMNS]
        if any(v is None for v in values):
            return None
        state = np.asarray(values, dtype=np.float32)
        price = Decimal(repr(bar.close))
        fraction = float(context.position * price / context.equity) if context.equity > 0 else 0.0
        unrealized = 0.0
        if context.position != 0 and context.entry_price > 0:
            unrealized = float(np.sign(float(context.position))
                               * float(price / context.entry_price - 1))  # fmt: skip
        held = int((bar.ts - context.opened_ts) // NS_PER_DAY) if context.position != 0 else 0
        return with_position(state, fraction, unrealized, held)

    def _exit(self, state: np.ndarray, context: StrategyContext) -> str | None:
        if context.position == 0:
            return None
        move = float(state[INDEX["unrealized_pnl"]])
        if move <= -(self.stop_base + self.stop_risk * float(state[INDEX["risk_score"]])):
            return "stop_loss"
        take = float(state[INDEX["pred_optimal_exit"]])
        return "take_profit" if take > 0 and move >= take else None

    def _target(self, state: np.ndarray) -> tuple[str, float]:
        direction, size = (int(v) for v in self.policy.act(state))
        fraction = min(self.sizes[size], self.cap)
        if direction == 1:
            return "LONG", fraction
        if direction == 2 and self.allow_short:
            return "SHORT", -fraction
        return "HOLD", 0.0

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        state = self._state(bar, context)
        if state is None:
            self._log(bar, {"decision": "no_state"})
            return []
        digest = state_hash(state)
        exit_reason = self._exit(state, context)
        name, target = ("EXIT", 0.0) if exit_reason else self._target(state)
        price = Decimal(repr(bar.close))
        wanted = (Decimal(repr(abs(target))) * context.equity / price).to_integral_value(
            ROUND_FLOOR
        )
        wanted = wanted if target >= 0 else -wanted
        delta = wanted - context.position
        record = {"decision": name, "target_fraction": target, "target_qty": str(wanted),
                  "position": str(context.position), "state_hash": digest,
                  "exit": exit_reason}  # fmt: skip
        if delta == 0:
            self._log(bar, {**record, "order": None})
            return []
        side = Side.BUY if delta > 0 else Side.SELL
        reason = f"pim_{(exit_reason or name).lower()}_{abs(target):.2f}_s{digest}"
        self._log(bar, {**record, "order": {"side": side.value, "quantity": str(abs(delta)),
                                            "reason": reason}})  # fmt: skip
        return [make_order(context, bar, side, abs(delta), reason)]

    def _log(self, bar: BarView, record: dict[str, Any]) -> None:
        if self.decisions is not None:
            self.decisions({"ts": bar.ts, "symbol": bar.symbol, **record})
