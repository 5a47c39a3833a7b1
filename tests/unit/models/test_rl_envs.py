"""The trading environments: Gymnasium's checker passes; the daily environment's equity
and reward follow the stated accounting exactly (fees and slippage on the traded
fraction, the old position from close to open and the new one from open to close), the
trade cap refuses and counts, a stop-loss closes the position, shorts can be disallowed;
the scalper's day adds the hindsight bonus and trade penalty once, at the end; the reward
and metrics functions match hand-computed values; the market state has its 58 documented
fields and docs/market_state.md lists them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from tradeloop.models.rl.market_state import INDEX, STATE_FIELDS, STATE_SIZE, state_table
from tradeloop.models.rl.rewards import calculate_metrics, calculate_reward
from tradeloop.models.rl.scalper_env import ScalperDailyEnv
from tradeloop.models.rl.trading_env import (
    HOLD,
    LONG,
    SHORT,
    DailyTradingEnv,
    EnvConfig,
    SymbolHistory,
)

ROOT = Path(__file__).resolve().parents[3]


def _history(closes: list[float], opens: list[float] | None = None) -> SymbolHistory:
    close = np.array(closes, dtype=np.float64)
    opened = np.array(opens if opens else [closes[0], *closes[:-1]], dtype=np.float64)
    return SymbolHistory("X", np.zeros((close.size, STATE_SIZE), np.float32), opened, close)


def test_environments_when_checked_then_gymnasium_accepts_them() -> None:
    rng = np.random.default_rng(0)
    closes = list(100 * np.cumprod(1 + rng.normal(0, 0.01, 300)))
    check_env(
        DailyTradingEnv([_history(closes)], EnvConfig(episode_length=50)), skip_render_check=True
    )
    days = [100 * np.cumprod(1 + rng.normal(0, 0.001, 60)) for _ in range(5)]
    check_env(ScalperDailyEnv(days), skip_render_check=True)


def test_daily_env_when_scripted_then_equity_follows_the_accounting_exactly() -> None:
    closes = [100, 102, 101, 105, 104, 108, 107]
    opens = [100, 101, 103, 104, 106, 107, 109]
    config = EnvConfig(episode_length=6, fee_bps=1, slippage_bps=2, use_exits=False)
    env = DailyTradingEnv([_history(closes, opens)], config)
    env.reset(options={"start": 0})
    script = [(LONG, 4), (LONG, 4), (SHORT, 1), (HOLD, 0), (LONG, 0)]
    equity, position, cost = Fraction(1), Fraction(0), Fraction(3, 10_000)
    rewards = []
    for t, (direction, size) in enumerate(script):
        _, reward, _, _, info = env.step(np.array([direction, size]))
        wanted = {LONG: 1, SHORT: -1, HOLD: 0}[direction] * Fraction(
            config.sizes[size]
        ).limit_denominator(100)
        ret = (position * (Fraction(opens[t + 1]) / closes[t] - 1)
               + wanted * (Fraction(closes[t + 1]) / opens[t + 1] - 1)
               - abs(wanted - position) * cost)  # fmt: skip
        equity *= 1 + ret
        position = wanted
        rewards.append(reward)
        assert reward == pytest.approx(float(ret) * 100, rel=1e-12, abs=1e-15)
        assert info["equity"] == pytest.approx(float(equity), rel=1e-12)
    assert info["trades"] == 4


def test_daily_env_when_trade_cap_reached_then_position_kept_and_refusal_counted() -> None:
    env = DailyTradingEnv([_history([100.0] * 20)], EnvConfig(episode_length=10, max_trades=2))
    env.reset(options={"start": 0})
    for direction in (LONG, SHORT, LONG, HOLD):
        _, _, _, _, info = env.step(np.array([direction, 4]))
    assert (info["trades"], info["refused"], info["position"]) == (2, 2, -0.2)


def test_daily_env_when_loss_passes_the_stop_then_position_closes_at_next_open() -> None:
    closes = [100, 100, 97, 96, 96, 96]
    env = DailyTradingEnv([_history(closes)], EnvConfig(episode_length=5))
    env.reset(options={"start": 0})
    _, _, _, _, info = env.step(np.array([LONG, 4]))  # in at 100
    _, _, _, _, info = env.step(np.array([LONG, 4]))  # 97: -3 % passes the 2 % stop
    assert info["position"] == 0.2
    _, _, _, _, info = env.step(np.array([LONG, 4]))  # asked long, the stop closes it
    assert info["position"] == 0.0


def test_daily_env_when_shorts_disallowed_then_short_means_flat() -> None:
    env = DailyTradingEnv([_history([100.0] * 10)], EnvConfig(episode_length=5, allow_short=False))
    env.reset(options={"start": 0})
    assert env.target(np.array([SHORT, 4])) == 0.0
    assert env.target(np.array([LONG, 2])) == pytest.approx(0.12)


def test_scalper_day_when_finished_then_shaping_added_once_at_the_end() -> None:
    day = np.array([100, 100, 100, 100, 100, 100, 101, 100, 101, 102], dtype=np.float64)
    env = ScalperDailyEnv([day], cost_bps=0, bonus_weight=0.5, free_trades=0, trade_penalty=0.001)
    env.reset(seed=0)
    rewards, done = [], False
    while not done:
        _, reward, done, _, info = env.step(np.int64(1))  # long all day
        rewards.append(reward)
    returns = day[1:] / day[:-1] - 1
    pnl = float(returns[5:].sum())
    assert info["pnl"] == pytest.approx(pnl)
    best = float(np.abs(returns[5:]).sum())
    shaped = calculate_reward(pnl, 1, best, bonus_weight=0.5, free_trades=0, trade_penalty=0.001)
    assert info["shaped_reward"] == pytest.approx(shaped)
    assert sum(rewards) == pytest.approx(info["shaped_reward"])
    assert rewards[:-1] == pytest.approx(list(returns[5:-1]))


def test_reward_and_metrics_when_computed_then_match_hand_values() -> None:
    reward = calculate_reward(0.01, 12, 0.04, bonus_weight=0.1, free_trades=10, trade_penalty=0.001)
    assert reward == pytest.approx(0.01 + 0.1 * 0.25 * 0.04 - 0.002)
    assert calculate_reward(-0.05, 0, 0.02) == pytest.approx(-0.05 - 0.1 * 0.02)
    assert calculate_reward(0.0, 0, 0.0) == 0.0
    metrics = calculate_metrics(np.array([0.1, -0.5, 0.2]), np.array([3.0, -1.0, 2.0, -2.0]))
    equity = np.array([1.0, 1.1, 0.55, 0.66])
    assert metrics["total_return"] == pytest.approx(-0.34)
    assert metrics["max_drawdown"] == pytest.approx(0.55 / 1.1 - 1)
    simple = np.diff(equity) / equity[:-1]
    assert metrics["sharpe"] == pytest.approx(simple.mean() / simple.std(ddof=1) * np.sqrt(252))
    assert (metrics["win_rate"], metrics["trades"], metrics["avg_profit_per_trade"]) == (
        0.5,
        4,
        0.5,
    )
    flat = calculate_metrics(np.zeros(5), np.array([]))
    assert (flat["sharpe"], flat["win_rate"], flat["max_drawdown"]) == (0.0, 0.0, 0.0)


def test_market_state_when_documented_then_58_fields_and_the_doc_table_matches() -> None:
    assert len(STATE_FIELDS) == 58
    assert [f.index for f in STATE_FIELDS] == list(range(58))
    assert INDEX["cash_fraction"] == 57
    doc = (ROOT / "docs" / "market_state.md").read_text()
    assert state_table() in doc, "regenerate the table: python -m tradeloop.models.rl.market_state"
