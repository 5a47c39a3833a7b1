"""The PIM agent trained with PPO (Stable-Baselines3): direction and size as one
MultiDiscrete action (two categorical heads over a shared actor MLP), a value head,
seeded and single-threaded; episodes counted and logged by a callback, with
checkpoints (weights only), TensorBoard scalars and early stopping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tradeloop.models.rl.branching_dqn import save_checkpoint
from tradeloop.models.rl.policy import DenseLayer
from tradeloop.models.rl.training_log import TrainingLog


@dataclass(frozen=True)
class PpoConfig:
    net_arch: tuple[int, ...] = (64, 64)
    n_envs: int = 8  # environments stepped together: one batched policy call per step
    n_steps: int = 64  # per environment: 512 steps per update
    batch_size: int = 64
    n_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 0.95
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    patience: int = 0
    checkpoint_every: int = 25
    seed: int = 7


@dataclass
class PpoResult:
    layers: list[DenseLayer]
    log: TrainingLog
    steps: int
    stopped_early: bool
    model: Any


def _callback(episodes: int, log: TrainingLog, run_dir: Path, config: PpoConfig,
              on_episode: Callable[[int, float], None] | None) -> Any:  # fmt: skip
    from stable_baselines3.common.callbacks import BaseCallback

    class EpisodeCallback(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.totals: np.ndarray | None = None
            self.stopped = False

        def _on_step(self) -> bool:
            rewards = np.asarray(self.locals["rewards"], dtype=np.float64)
            dones = np.asarray(self.locals["dones"], dtype=bool)
            if self.totals is None:
                self.totals = np.zeros(rewards.size)
            self.totals += rewards
            for i in np.flatnonzero(dones):
                done = len(log.rows) + 1
                if on_episode is not None:
                    on_episode(done, float(self.totals[i]))
                self.stopped = log.episode(self.num_timesteps, float(self.totals[i]))
                self.totals[i] = 0.0
                if done % config.checkpoint_every == 0:
                    path = run_dir / "checkpoints" / f"episode_{done:05d}.pt"
                    save_checkpoint(self.model.policy, path)
                if done >= episodes or self.stopped:
                    return False
            return True

    return EpisodeCallback()


def policy_layers(policy: Any) -> list[DenseLayer]:
    """The actor MLP and the action logits of an SB3 MlpPolicy as dense layers."""
    modules = list(policy.mlp_extractor.policy_net)
    dense = []
    for i, module in enumerate(modules):
        if isinstance(module, nn.Linear):
            after = modules[i + 1] if i + 1 < len(modules) else None
            activation = (
                "tanh"
                if isinstance(after, nn.Tanh)
                else "relu"
                if isinstance(after, nn.ReLU)
                else "none"
            )
            dense.append(DenseLayer(module.weight.detach().numpy().copy(),
                                    module.bias.detach().numpy().copy(), activation))  # fmt: skip
    head = policy.action_net
    return [*dense, DenseLayer(head.weight.detach().numpy().copy(),
                               head.bias.detach().numpy().copy(), "none")]  # fmt: skip


def train_ppo(
    make_env: Callable[[], Any], episodes: int, config: PpoConfig, run_dir: Path,
    on_episode: Callable[[int, float], None] | None = None,
) -> PpoResult:  # fmt: skip
    """Train for ``episodes`` episodes (fewer when early stopping triggers)."""
    from stable_baselines3 import PPO

    torch.manual_seed(config.seed)
    torch.set_num_threads(1)
    from stable_baselines3.common.vec_env import DummyVecEnv

    env = DummyVecEnv([make_env] * config.n_envs)
    model = PPO(
        "MlpPolicy", env, n_steps=config.n_steps, batch_size=config.batch_size,
        n_epochs=config.n_epochs, learning_rate=config.learning_rate, gamma=config.gamma,
        gae_lambda=config.gae_lambda, ent_coef=config.ent_coef, seed=config.seed,
        device="cpu", verbose=0,
        policy_kwargs={"net_arch": {"pi": list(config.net_arch), "vf": list(config.net_arch)}},
    )  # fmt: skip
    log = TrainingLog(run_dir, patience=config.patience).open()
    callback = _callback(episodes, log, run_dir, config, on_episode)
    length = int(getattr(getattr(env.envs[0], "config", None), "episode_length", 1000))
    try:
        model.learn(total_timesteps=episodes * (length + 1) * 2, callback=callback)
    finally:
        log.close()
    save_checkpoint(model.policy, run_dir / "checkpoints" / "final.pt")
    steps = int(model.num_timesteps)
    return PpoResult(policy_layers(model.policy), log, steps, bool(callback.stopped), model)


def deterministic_actions(model: Any, states: np.ndarray) -> np.ndarray:
    """SB3's own deterministic actions (the ONNX parity reference)."""
    actions, _ = model.predict(states, deterministic=True)
    return np.asarray(actions)
