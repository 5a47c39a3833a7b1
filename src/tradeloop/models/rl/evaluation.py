"""Running a policy through the daily environment on fixed episodes, and the hindsight
oracle that bounds what any policy can earn there."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from tradeloop.models.rl.rewards import calculate_metrics
from tradeloop.models.rl.trading_env import (
    HOLD,
    LONG,
    SHORT,
    DailyTradingEnv,
    EnvConfig,
    SymbolHistory,
)

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


def run_period(
    history: SymbolHistory, config: EnvConfig, act: Act
) -> tuple[np.ndarray, dict[str, float]]:
    """``act`` over the whole of ``history`` (one episode, first session to last, with the
    trade cap of as many episodes as it spans): the equity after each session (starting
    at 1) and the PIM metrics (return, Sharpe, Sortino, max drawdown, win rate and average
    profit per closed trade)."""
    length = history.states.shape[0] - 1
    # the trade cap is per episode: a period of several episodes' length gets as many caps
    episodes = -(-length // config.episode_length)
    whole = dataclasses.replace(config, episode_length=length,
                                max_trades=config.max_trades * episodes)  # fmt: skip
    env = DailyTradingEnv([history], whole)
    state, info = env.reset(options={"symbol": 0, "start": 0})
    equity, done = [1.0], False
    while not done:
        state, _, terminated, truncated, info = env.step(act(state))
        equity.append(float(info["equity"]))
        done = terminated or truncated
    curve = np.asarray(equity)
    returns = np.diff(curve) / curve[:-1]
    # a position still open at the end counts as a trade closed at the last close
    trades = [*env.closed_trades, *([env.open_trade_pnl] if info["position"] else [])]
    metrics = calculate_metrics(returns, np.asarray(trades))
    metrics["refused"] = float(info["refused"])
    return curve, metrics
