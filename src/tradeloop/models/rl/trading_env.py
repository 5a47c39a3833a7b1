"""The daily trading environment (Gymnasium): the PIM agent's world.

An episode starts at a random session of a random symbol's history (seeded) and lasts
``episode_length`` sessions. At each session's close the agent sees the 58-value market
state and picks a direction (0 HOLD: be flat, 1 LONG, 2 SHORT) and a size (index into
``sizes``, fractions of equity, 0.04..0.20 by default). The new position is taken at the
next session's open, paying ``fee_bps`` + ``slippage_bps`` on the traded fraction; the
reward is the equity's return over that next session (the old position from close to
open, the new one from open to close), times ``reward_scale``. A stop-loss at
``stop_base + stop_risk * risk_score`` and a take-profit at the curve's optimal exit
(90 % of its peak, when positive) close a position at the next open; ``max_trades`` caps
the changes of position per episode (a change beyond it is refused and counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from tradeloop.models.rl.market_state import INDEX, STATE_BOUND, STATE_SIZE

HOLD, LONG, SHORT = 0, 1, 2
SIZES = (0.04, 0.08, 0.12, 0.16, 0.20)


@dataclass(frozen=True)
class SymbolHistory:
    """One symbol's sessions, oldest first: flat states ``[n, 58]`` and prices."""

    symbol: str
    states: np.ndarray
    open: np.ndarray
    close: np.ndarray
    ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n = self.states.shape[0]
        if not np.all(np.abs(self.states) <= STATE_BOUND):
            raise ValueError(f"{self.symbol}: state values beyond +-{STATE_BOUND}")
        if (
            self.states.shape != (n, STATE_SIZE)
            or self.open.shape != (n,)
            or self.close.shape != (n,)
        ):
            raise ValueError(f"{self.symbol}: states [n, {STATE_SIZE}], open [n], close [n]")
        if not (np.all(self.open > 0) and np.all(self.close > 0)):
            raise ValueError(f"{self.symbol}: prices must be positive")


@dataclass(frozen=True)
class EnvConfig:
    episode_length: int = 100
    sizes: tuple[float, ...] = SIZES
    fee_bps: float = 1.0
    slippage_bps: float = 2.0
    max_trades: int = 50
    allow_short: bool = True
    stop_base: float = 0.02
    stop_risk: float = 0.08
    use_exits: bool = True
    reward_scale: float = 100.0


class DailyTradingEnv(gym.Env[np.ndarray, np.ndarray]):
    def __init__(self, histories: list[SymbolHistory], config: EnvConfig | None = None) -> None:
        self.config = config or EnvConfig()
        usable = [h for h in histories if h.states.shape[0] > self.config.episode_length]
        if not usable:
            raise ValueError(
                f"no symbol has more than {self.config.episode_length} sessions for an episode"
            )
        self.histories = usable
        self.observation_space = gym.spaces.Box(
            -STATE_BOUND, STATE_BOUND, (STATE_SIZE,), np.float32
        )
        self.action_space = gym.spaces.MultiDiscrete([3, len(self.config.sizes)])
        self._cost = (self.config.fee_bps + self.config.slippage_bps) / 10_000.0
        self._history = usable[0]
        self._t = self._end = 0
        self._position = self._entry = self._equity = 0.0
        self._holding = self._trades = self._refused = 0
        self._open_pnl = 0.0
        self.closed_trades: list[float] = []

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        pick = options.get("symbol", int(self.np_random.integers(len(self.histories))))
        history = self.histories[int(pick)]
        if "start" in options:
            start = int(options["start"])
        else:
            start = int(
                self.np_random.integers(0, history.states.shape[0] - self.config.episode_length)
            )
        self._history, self._t = history, start
        self._end = min(start + self.config.episode_length, history.states.shape[0] - 1)
        self._position = self._entry = 0.0
        self._equity = 1.0
        self._holding = self._trades = self._refused = 0
        self._open_pnl = 0.0
        self.closed_trades = []
        return self._observation(), self._info()

    def _observation(self) -> np.ndarray:
        state: np.ndarray = self._history.states[self._t].copy()
        state[INDEX["position"]] = self._position
        if self._position != 0.0:
            close = self._history.close[self._t]
            state[INDEX["unrealized_pnl"]] = np.sign(self._position) * (close / self._entry - 1.0)
        state[INDEX["holding_sessions"]] = self._holding / 100.0
        state[INDEX["cash_fraction"]] = 1.0 - abs(self._position)
        return state

    def _info(self) -> dict[str, Any]:
        return {"equity": self._equity, "position": self._position, "trades": self._trades,
                "refused": self._refused, "symbol": self._history.symbol, "t": self._t}  # fmt: skip

    @property
    def open_trade_pnl(self) -> float:
        """The open position's PnL so far (fraction of equity; 0 when flat)."""
        return self._open_pnl if self._position else 0.0

    def target(self, action: np.ndarray) -> float:
        """The position an action asks for (before exits and the trade cap)."""
        direction, size = int(action[0]), self.config.sizes[int(action[1])]
        if direction == LONG:
            return size
        if direction == SHORT and self.config.allow_short:
            return -size
        return 0.0

    def _exit_due(self) -> bool:
        """A stop-loss or take-profit hit at this close (the position leaves at the next open)."""
        if not self.config.use_exits or self._position == 0.0:
            return False
        state = self._history.states[self._t]
        move = np.sign(self._position) * (self._history.close[self._t] / self._entry - 1.0)
        stop = self.config.stop_base + self.config.stop_risk * float(state[INDEX["risk_score"]])
        take = float(state[INDEX["pred_optimal_exit"]])
        return bool(move <= -stop or (take > 0 and move >= take))

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        wanted = 0.0 if self._exit_due() else self.target(action)
        old, t = self._position, self._t
        if wanted != old and self._trades >= self.config.max_trades:
            self._refused += 1
            wanted = old
        history = self._history
        prev_close, nxt_open, nxt_close = (
            history.close[t],
            history.open[t + 1],
            history.close[t + 1],
        )
        traded = abs(wanted - old)
        carry, fresh = old * (nxt_open / prev_close - 1.0), wanted * (nxt_close / nxt_open - 1.0)
        ret = carry + fresh - traded * self._cost
        if old != 0.0 and (wanted == 0.0 or np.sign(wanted) != np.sign(old)):
            # a round trip ends at the next open: its PnL, as a fraction of equity
            self.closed_trades.append(self._open_pnl + carry - abs(old) * self._cost)
            self._open_pnl = fresh - abs(wanted) * self._cost
        else:
            self._open_pnl += ret
        if traded:
            self._trades += 1
            if wanted == 0.0 or np.sign(wanted) != np.sign(old):
                self._entry, self._holding = nxt_open, 0
        self._position = wanted
        self._holding = self._holding + 1 if wanted != 0.0 else 0
        self._equity *= 1.0 + ret
        self._t = t + 1
        terminated = self._t >= self._end or self._equity <= 0.0
        return self._observation(), ret * self.config.reward_scale, terminated, False, self._info()
