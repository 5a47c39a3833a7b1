"""The scalper's daily-PnL environment (Gymnasium): one episode is one trading day of
intraday bars; the agent is flat, long or short one unit at each bar; the step reward is
the bar's PnL net of costs, and the last step adds ``calculate_reward``'s shaping (the
hindsight bonus and the trade-count penalty) for the whole day.

Observation (9): the last five bar returns, the position (-1, 0, 1), the share of the day
elapsed, the day's PnL so far and the trades so far / 100.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from tradeloop.models.rl.rewards import calculate_reward

LOOKBACK = 5
OBSERVATION_SIZE = LOOKBACK + 4


class ScalperDailyEnv(gym.Env[np.ndarray, np.int64]):
    def __init__(
        self,
        days: list[np.ndarray],
        *,
        cost_bps: float = 1.0,
        bonus_weight: float = 0.1,
        free_trades: int = 10,
        trade_penalty: float = 0.0002,
    ) -> None:
        """``days``: each day's bar closes, oldest first (more than LOOKBACK + 1 bars)."""
        self.days = [np.asarray(d, dtype=np.float64) for d in days if len(d) > LOOKBACK + 1]
        if not self.days:
            raise ValueError(f"no day with more than {LOOKBACK + 1} bars")
        self.cost = cost_bps / 10_000.0
        self.shaping = {"bonus_weight": bonus_weight, "free_trades": free_trades,
                        "trade_penalty": trade_penalty}  # fmt: skip
        self.observation_space = gym.spaces.Box(-1e3, 1e3, (OBSERVATION_SIZE,), np.float32)
        self.action_space = gym.spaces.Discrete(3)  # 0 flat, 1 long, 2 short
        self._returns = np.zeros(1)
        self._t = self._trades = 0
        self._position = self._pnl = 0.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        day = self.days[int(self.np_random.integers(len(self.days)))]
        self._returns = day[1:] / day[:-1] - 1.0
        self._t, self._trades, self._position, self._pnl = LOOKBACK, 0, 0.0, 0.0
        return self._observation(), {}

    def _observation(self) -> np.ndarray:
        out = np.empty(OBSERVATION_SIZE, dtype=np.float32)
        out[:LOOKBACK] = self._returns[self._t - LOOKBACK : self._t] * 100.0
        out[LOOKBACK:] = (self._position, self._t / self._returns.size, self._pnl * 100.0,
                          self._trades / 100.0)  # fmt: skip
        return np.clip(out, -1e3, 1e3)

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        wanted = (0.0, 1.0, -1.0)[int(action)]
        reward = wanted * self._returns[self._t] - abs(wanted - self._position) * self.cost
        if wanted != self._position:
            self._trades += 1
        self._position, self._pnl = wanted, self._pnl + reward
        self._t += 1
        terminated = self._t >= self._returns.size
        info: dict[str, Any] = {"pnl": self._pnl, "trades": self._trades}
        if terminated:
            hindsight = float(np.abs(self._returns[LOOKBACK:]).sum())
            shaped = calculate_reward(self._pnl, self._trades, hindsight, **self.shaping)  # type: ignore[arg-type]
            reward += shaped - self._pnl
            info["shaped_reward"] = shaped
            return np.zeros(OBSERVATION_SIZE, dtype=np.float32), float(reward), True, False, info
        return self._observation(), float(reward), False, False, info
