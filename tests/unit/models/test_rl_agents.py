"""The agents learn: on a toy market with a deterministic trend, and on one that reverts
every session (the state's curve direction tells which way the next session goes), PPO,
the branching DQN and its risk variant each reach at least 90 % of the hindsight-optimal
policy's reward on fixed episodes within a small budget (seeded, single-threaded: the run
is reproducible, and the test fails when learning is broken). The ONNX policy acts as
the trained network does; checkpoints load as weights only; TensorBoard event files are
written; early stopping stops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tradeloop.models.rl.branching_dqn import BdqConfig, train_bdq
from tradeloop.models.rl.evaluation import fixed_episodes, mean_reward, oracle_act
from tradeloop.models.rl.market_state import INDEX, STATE_SIZE
from tradeloop.models.rl.policy import AgentPolicy, numpy_scores, policy_onnx
from tradeloop.models.rl.ppo_agent import PpoConfig, deterministic_actions, train_ppo
from tradeloop.models.rl.trading_env import DailyTradingEnv, EnvConfig, SymbolHistory

TOY = EnvConfig(episode_length=50, max_trades=1_000)


def _toy(kind: str, n: int = 400) -> SymbolHistory:
    moves = np.where(np.arange(n) % 2 == 0, 0.01, -0.01) if kind == "revert" else np.full(n, 0.005)
    close = 100 * np.cumprod(1 + moves)
    opened = np.concatenate([[100.0], close[:-1]])
    states = np.zeros((n, STATE_SIZE), np.float32)
    states[:, INDEX["direction"]] = np.sign(np.concatenate([moves[1:], [0.0]]))
    states[:, INDEX["ret_1"]] = moves * 100
    return SymbolHistory("TOY", states, opened, close)


def _score(kind: str, act) -> float:  # type: ignore[no-untyped-def]
    env = DailyTradingEnv([_toy(kind)], TOY)
    episodes = fixed_episodes(env, 10, seed=1)
    return mean_reward(env, act, episodes) / mean_reward(env, oracle_act(env), episodes)


@pytest.mark.parametrize("kind", ["trend", "revert"])
def test_ppo_when_trained_on_a_learnable_market_then_near_optimal(
    kind: str, tmp_path: Path
) -> None:
    make = lambda: DailyTradingEnv([_toy(kind)], TOY)  # noqa: E731
    result = train_ppo(make, 200, PpoConfig(learning_rate=1e-3), tmp_path)
    policy = AgentPolicy(policy_onnx(result.layers), [3, 5])
    assert _score(kind, policy.act) >= 0.9
    states = np.random.default_rng(0).normal(0, 1, (200, STATE_SIZE)).astype(np.float32)
    assert np.array_equal(policy.act_batch(states), deterministic_actions(result.model, states))
    assert len(result.log.rows) == 200
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.parametrize(
    ("kind", "risk_head"), [("trend", False), ("revert", False), ("revert", True)]
)
def test_branching_dqn_when_trained_on_a_learnable_market_then_near_optimal(
    kind: str, risk_head: bool, tmp_path: Path
) -> None:
    make = lambda: DailyTradingEnv([_toy(kind)], TOY)  # noqa: E731
    result = train_bdq(make, 200, BdqConfig(seed=1, risk_head=risk_head), tmp_path)
    layers = result.network.policy_layers()
    policy = AgentPolicy(policy_onnx(layers), [3, 5])
    assert _score(kind, policy.act) >= 0.9
    states = np.random.default_rng(0).normal(0, 1, (200, STATE_SIZE)).astype(np.float32)
    with torch.no_grad():
        qs, vol = result.network(torch.from_numpy(states))
    torch_actions = np.column_stack([q.argmax(dim=1).numpy() for q in qs])
    assert np.array_equal(policy.act_batch(states), torch_actions)
    assert np.allclose(policy.scores(states), numpy_scores(layers, states), atol=1e-4)
    assert (vol is not None) == risk_head
    weights = torch.load(tmp_path / "checkpoints" / "final.pt", weights_only=True)
    assert set(weights) == set(result.network.state_dict())
    assert len(list((tmp_path / "checkpoints").glob("episode_*.pt"))) == 8


def test_training_when_returns_stop_improving_then_it_stops_early(tmp_path: Path) -> None:
    flat = SymbolHistory("FLAT", np.zeros((300, STATE_SIZE), np.float32), np.full(300, 100.0),
                         np.full(300, 100.0))  # fmt: skip
    make = lambda: DailyTradingEnv([flat], EnvConfig(episode_length=20))  # noqa: E731
    result = train_bdq(make, 500, BdqConfig(patience=15, learning_starts=50), tmp_path)
    assert result.stopped_early
    assert len(result.log.rows) < 500
