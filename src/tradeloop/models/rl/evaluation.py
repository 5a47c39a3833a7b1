"""Running a policy through the daily environment on fixed episodes, and the hindsight
oracle that bounds what any policy can earn there."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tradeloop.models.rl.trading_env import HOLD, LONG, SHORT, DailyTradingEnv

Act = Callable[[np.ndarray], np.ndarray]


def run_episode(env: DailyTradingEnv, act: Act, symbol: int, start: int) -> dict[str, float]:
    """One episode from ``start`` of history ``symbol``: total reward, final equity, trades."""
    state, info = env.reset(options={"symbol": symbol, "start": start})
    total, done = 0.0, False
    while not done:
        state, reward, terminated, truncated, info = env.step(act(state))
        total += reward
        done = terminated or truncated
    return {"reward": total, "equity": float(info["equity"]), "trades": float(info["trades"])}


def oracle_act(env: DailyTradingEnv) -> Act:
    """The hindsight policy: the largest size in the direction of the next session's
    open-to-close move (flat when it does not beat the round-trip cost)."""
    largest = len(env.config.sizes) - 1
    cost = 2 * (env.config.fee_bps + env.config.slippage_bps) / 10_000.0

    def act(_: np.ndarray) -> np.ndarray:
        history, t = env._history, env._t  # the oracle may look ahead: that is its job
        move = history.close[t + 1] / history.open[t + 1] - 1.0
        if abs(move) <= cost:
            return np.array([HOLD, 0])
        if move < 0 and not env.config.allow_short:
            return np.array([HOLD, 0])
        return np.array([LONG if move > 0 else SHORT, largest])

    return act


def fixed_episodes(env: DailyTradingEnv, count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` (symbol, start) pairs drawn once, so that policies meet the same episodes."""
    rng = np.random.default_rng(seed)
    picks = []
    for _ in range(count):
        symbol = int(rng.integers(len(env.histories)))
        last = env.histories[symbol].states.shape[0] - env.config.episode_length - 1
        picks.append((symbol, int(rng.integers(0, max(1, last)))))
    return picks


def mean_reward(env: DailyTradingEnv, act: Act, episodes: list[tuple[int, int]]) -> float:
    return float(np.mean([run_episode(env, act, s, t)["reward"] for s, t in episodes]))
