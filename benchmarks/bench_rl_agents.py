"""The PIM agent's environment and training throughput against a plain pandas-indexed
environment (the way such environments are usually written: a DataFrame row per step).

- env steps/s: ``DailyTradingEnv`` vs ``PandasTradingEnv`` below (same accounting, same
  58-value observation, ``df.iloc`` per step), random actions, one environment, 2 cores;
- PPO training steps/s: Stable-Baselines3 PPO, same algorithm, network, seed and 512
  steps per update: tradeloop's trainer (8 environments stepped together, one batched
  policy call per step) vs the usual script (one pandas environment);
- the 100-episode training wall time of ``tradeloop agent train`` defaults (PPO and the
  branching DQN, episodes of 100 sessions).

    .venv/bin/python benchmarks/bench_rl_agents.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tradeloop.models.rl.market_state import INDEX, STATE_BOUND, STATE_SIZE  # noqa: E402
from tradeloop.models.rl.ppo_agent import PpoConfig  # noqa: E402
from tradeloop.models.rl.trading_env import (  # noqa: E402
    LONG,
    SHORT,
    DailyTradingEnv,
    EnvConfig,
    SymbolHistory,
)

SESSIONS = 2_500


def history(seed: int = 0) -> SymbolHistory:
    rng = np.random.default_rng(seed)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, SESSIONS))
    opened = close * (1 + rng.normal(0, 0.002, SESSIONS))
    states = np.clip(rng.normal(0, 1, (SESSIONS, STATE_SIZE)), -5, 5).astype(np.float32)
    return SymbolHistory("X", states, opened, close)


class PandasTradingEnv(gym.Env[np.ndarray, np.ndarray]):
    """The peer: the same rules, reading a DataFrame row per step."""

    def __init__(self, frame: pd.DataFrame, config: EnvConfig) -> None:
        self.frame, self.config = frame, config
        self.columns = [f"s{i}" for i in range(STATE_SIZE)]
        self.observation_space = gym.spaces.Box(
            -STATE_BOUND, STATE_BOUND, (STATE_SIZE,), np.float32
        )
        self.action_space = gym.spaces.MultiDiscrete([3, len(config.sizes)])
        self.cost = (config.fee_bps + config.slippage_bps) / 10_000

    def _obs(self) -> np.ndarray:
        row = self.frame.iloc[self.t]
        state = row[self.columns].to_numpy(dtype=np.float32)
        state[INDEX["position"]] = self.position
        if self.position:
            state[INDEX["unrealized_pnl"]] = np.sign(self.position) * (
                row["close"] / self.entry - 1
            )
        state[INDEX["cash_fraction"]] = 1 - abs(self.position)
        return state

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.t = int(self.np_random.integers(0, len(self.frame) - self.config.episode_length))
        self.end = self.t + self.config.episode_length
        self.position, self.entry, self.equity = 0.0, 0.0, 1.0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> Any:
        size = self.config.sizes[int(action[1])]
        wanted = size if int(action[0]) == LONG else -size if int(action[0]) == SHORT else 0.0
        now, nxt = self.frame.iloc[self.t], self.frame.iloc[self.t + 1]
        carry = self.position * (nxt["open"] / now["close"] - 1)
        fresh = wanted * (nxt["close"] / nxt["open"] - 1)
        ret = carry + fresh - abs(wanted - self.position) * self.cost
        if wanted and np.sign(wanted) != np.sign(self.position):
            self.entry = nxt["open"]
        self.position, self.equity, self.t = wanted, self.equity * (1 + ret), self.t + 1
        return self._obs(), ret * 100, self.t >= self.end, False, {}


def pandas_env(source: SymbolHistory, config: EnvConfig) -> PandasTradingEnv:
    frame = pd.DataFrame(source.states, columns=[f"s{i}" for i in range(STATE_SIZE)])
    frame["open"], frame["close"] = source.open, source.close
    return PandasTradingEnv(frame, config)


def env_steps_per_second(env: gym.Env[Any, Any], steps: int) -> float:
    rng = np.random.default_rng(1)
    actions = np.column_stack([rng.integers(0, 3, steps), rng.integers(0, 5, steps)])
    env.reset(seed=0)
    started = time.perf_counter()
    for action in actions:
        if env.step(action)[2]:
            env.reset()
    return steps / (time.perf_counter() - started)


def ppo_steps_per_second(make: Any, steps: int, n_envs: int) -> float:
    """SB3 PPO with 512 steps per update either way: ``n_envs`` environments of 512 /
    n_envs steps (tradeloop's trainer: 8), or one environment of 512 (the usual script)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.set_num_threads(1)
    model = PPO("MlpPolicy", DummyVecEnv([make] * n_envs), n_steps=512 // n_envs, batch_size=64,
                seed=7, device="cpu", verbose=0,
                policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}})  # fmt: skip
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - started)


def training_seconds(algo: str, episodes: int) -> float:
    from tradeloop.models.rl.branching_dqn import BdqConfig, train_bdq
    from tradeloop.models.rl.ppo_agent import train_ppo

    source = history(3)
    make = lambda: DailyTradingEnv([source], EnvConfig())  # noqa: E731
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        if algo == "ppo":
            train_ppo(make, episodes, PpoConfig(), Path(folder))
        else:
            train_bdq(make, episodes, BdqConfig(), Path(folder))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    source, config = history(), EnvConfig()
    names = ("env_ours", "env_pandas", "ppo_ours", "ppo_pandas", "train_ppo", "train_bdq")
    figures: dict[str, list[float]] = {k: [] for k in names}
    for _ in range(args.runs):
        figures["env_ours"].append(env_steps_per_second(DailyTradingEnv([source], config), 200_000))
        figures["env_pandas"].append(env_steps_per_second(pandas_env(source, config), 20_000))
        ours = lambda: DailyTradingEnv([source], config)  # noqa: E731
        peer = lambda: pandas_env(source, config)  # noqa: E731
        figures["ppo_ours"].append(ppo_steps_per_second(ours, 10_240, PpoConfig().n_envs))
        figures["ppo_pandas"].append(ppo_steps_per_second(peer, 10_240, 1))
        figures["train_ppo"].append(training_seconds("ppo", 100))
        figures["train_bdq"].append(training_seconds("bdq", 100))
    medians = {k: statistics.median(v) for k, v in figures.items()}
    result = {
        **medians,
        "env_ratio": medians["env_ours"] / medians["env_pandas"],
        "ppo_ratio": medians["ppo_ours"] / medians["ppo_pandas"],
        "runs": args.runs,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = medians
    print(f"env steps/s: tradeloop {m['env_ours']:,.0f}, pandas env {m['env_pandas']:,.0f}, "
          f"ratio {result['env_ratio']:.1f}x")  # fmt: skip
    print(f"PPO training steps/s: tradeloop {m['ppo_ours']:,.0f}, pandas env "
          f"{m['ppo_pandas']:,.0f}, ratio {result['ppo_ratio']:.2f}x")  # fmt: skip
    print(
        f"100 episodes x 100 sessions: PPO {medians['train_ppo']:.1f} s, branching DQN "
        f"{medians['train_bdq']:.1f} s (medians of {args.runs})"
    )


if __name__ == "__main__":
    main()
