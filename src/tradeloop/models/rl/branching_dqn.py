"""The dueling branching DQN (the scalper's agent) and its risk variant, in PyTorch.

One shared trunk, a state-value head and one advantage head per action branch (direction,
size): Q_b(s, a) = V(s) + A_b(s, a) - mean_a A_b(s, a). Each branch's TD target is
r + gamma * the target network's Q of that branch at the online network's best action
(double DQN; ``target="mean"`` shares the mean over branches instead, the branching
paper's other operator), and each branch explores on its own (epsilon-greedy per branch:
a size tried at random is judged with the greedy direction, never with a random one).
The risk variant adds a volatility head that predicts the next step's |reward| and
trains on TD loss plus ``risk_weight`` times its squared error. Training: epsilon-greedy
with linear decay, a replay buffer, a target network synced every ``target_sync`` steps, Huber loss,
checkpoints (weights only), TensorBoard scalars and early stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tradeloop.models.rl.policy import DenseLayer
from tradeloop.models.rl.training_log import TrainingLog


@dataclass(frozen=True)
class BdqConfig:
    hidden: tuple[int, ...] = (64, 64)
    gamma: float = 0.5  # a session's reward is mostly its own action's: a short horizon
    learning_rate: float = 1e-3
    batch_size: int = 64
    buffer_size: int = 50_000
    learning_starts: int = 200
    train_every: int = 1
    target_sync: int = 500
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 2_000
    target: str = "independent"  # or "mean": the branches' shared TD target
    risk_head: bool = False
    risk_weight: float = 0.1
    patience: int = 0  # episodes without improvement before stopping (0: never)
    checkpoint_every: int = 25  # episodes
    seed: int = 7


class BranchingQNetwork(nn.Module):
    def __init__(self, state_size: int, branches: tuple[int, ...], hidden: tuple[int, ...],
                 risk_head: bool = False) -> None:  # fmt: skip
        super().__init__()
        layers: list[nn.Module] = []
        width = state_size
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.trunk = nn.Sequential(*layers)
        self.value = nn.Linear(width, 1)
        self.advantages = nn.ModuleList(nn.Linear(width, n) for n in branches)
        self.volatility = nn.Linear(width, 1) if risk_head else None

    def forward(self, state: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        h = self.trunk(state)
        value = self.value(h)
        qs = [
            value + a - a.mean(dim=1, keepdim=True) for a in (head(h) for head in self.advantages)
        ]
        vol = nn.functional.softplus(self.volatility(h)).squeeze(1) if self.volatility else None
        return qs, vol

    def policy_layers(self) -> list[DenseLayer]:
        """The trunk and the advantage heads (concatenated) as dense layers (for ONNX)."""
        dense: list[DenseLayer] = []
        for module in self.trunk:
            if isinstance(module, nn.Linear):
                dense.append(DenseLayer(module.weight.detach().numpy().copy(),
                                        module.bias.detach().numpy().copy(), "relu"))  # fmt: skip
        heads = [h for h in self.advantages if isinstance(h, nn.Linear)]
        weight = torch.cat([h.weight for h in heads]).detach().numpy().copy()
        bias = torch.cat([h.bias for h in heads]).detach().numpy().copy()
        return [*dense, DenseLayer(weight, bias, "none")]


class _Replay:
    def __init__(self, size: int, state_size: int, branches: int, rng: np.random.Generator) -> None:
        self.s = np.zeros((size, state_size), np.float32)
        self.s2 = np.zeros((size, state_size), np.float32)
        self.a = np.zeros((size, branches), np.int64)
        self.r = np.zeros(size, np.float32)
        self.done = np.zeros(size, np.float32)
        self.size, self.n, self.i, self.rng = size, 0, 0, rng

    def add(self, s: np.ndarray, a: np.ndarray, r: float, s2: np.ndarray, done: bool) -> None:
        self.s[self.i], self.a[self.i], self.r[self.i], self.s2[self.i] = s, a, r, s2
        self.done[self.i] = float(done)
        self.i = (self.i + 1) % self.size
        self.n = min(self.n + 1, self.size)

    def sample(self, k: int) -> tuple[torch.Tensor, ...]:
        idx = self.rng.integers(0, self.n, k)
        return tuple(torch.from_numpy(x[idx]) for x in (self.s, self.a, self.r, self.s2, self.done))


@dataclass
class BdqResult:
    network: BranchingQNetwork
    log: TrainingLog
    steps: int
    stopped_early: bool


def _loss(net: BranchingQNetwork, target: BranchingQNetwork, batch: tuple[torch.Tensor, ...],
          config: BdqConfig) -> torch.Tensor:  # fmt: skip
    s, a, r, s2, done = batch
    qs, vol = net(s)
    with torch.no_grad():
        online_next, _ = net(s2)
        target_next, _ = target(s2)
        best = [q.argmax(dim=1, keepdim=True) for q in online_next]
        per_branch = torch.stack(
            [t.gather(1, b).squeeze(1) for t, b in zip(target_next, best, strict=True)]
        )
        if config.target == "mean":
            per_branch = per_branch.mean(0, keepdim=True).expand_as(per_branch)
        ys = r + config.gamma * (1.0 - done) * per_branch
    taken = [q.gather(1, a[:, i : i + 1]).squeeze(1) for i, q in enumerate(qs)]
    losses = [nn.functional.smooth_l1_loss(t, y) for t, y in zip(taken, ys, strict=True)]
    loss = torch.stack(losses).mean()
    if vol is not None:
        loss = loss + config.risk_weight * nn.functional.mse_loss(vol, r.abs())
    return loss


def train_bdq(
    make_env: Callable[[], Any], episodes: int, config: BdqConfig, run_dir: Path,
    on_episode: Callable[[int, float], None] | None = None,
) -> BdqResult:  # fmt: skip
    """Train on ``make_env()`` (a Gymnasium env with a MultiDiscrete action space) for
    ``episodes`` episodes (fewer when early stopping triggers); seeded, single-threaded."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(config.seed)
    env = make_env()
    branches = tuple(int(n) for n in env.action_space.nvec)
    state_size = int(env.observation_space.shape[0])
    net = BranchingQNetwork(state_size, branches, config.hidden, config.risk_head)
    target = BranchingQNetwork(state_size, branches, config.hidden, config.risk_head)
    target.load_state_dict(net.state_dict())
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    replay = _Replay(config.buffer_size, state_size, len(branches), rng)
    log = TrainingLog(run_dir, patience=config.patience).open()
    steps, stopped = 0, False
    try:
        for episode in range(episodes):
            state, _ = env.reset(seed=config.seed + episode)
            total, done = 0.0, False
            while not done:
                epsilon = max(
                    config.epsilon_end,
                    config.epsilon_start
                    - (config.epsilon_start - config.epsilon_end)
                    * steps
                    / config.epsilon_decay_steps,
                )
                with torch.no_grad():
                    qs, _ = net(torch.from_numpy(state).unsqueeze(0))
                # each branch explores on its own: a size tried at random is then judged
                # with the greedy direction, not with a random one
                action = np.array([
                    int(rng.integers(n)) if rng.random() < epsilon else int(q.argmax())
                    for n, q in zip(branches, qs, strict=True)
                ])  # fmt: skip
                nxt, reward, terminated, truncated, _ = env.step(action)
                done = terminated or truncated
                replay.add(state, action, reward, nxt, terminated)
                state, total, steps = nxt, total + reward, steps + 1
                if replay.n >= config.learning_starts and steps % config.train_every == 0:
                    loss = _loss(net, target, replay.sample(config.batch_size), config)
                    optimizer.zero_grad()
                    loss.backward()  # type: ignore[no-untyped-call]
                    nn.utils.clip_grad_norm_(net.parameters(), 10.0)
                    optimizer.step()
                if steps % config.target_sync == 0:
                    target.load_state_dict(net.state_dict())
            if on_episode is not None:
                on_episode(episode + 1, total)
            if (episode + 1) % config.checkpoint_every == 0:
                save_checkpoint(net, run_dir / "checkpoints" / f"episode_{episode + 1:05d}.pt")
            if log.episode(steps, total, epsilon=epsilon):
                stopped = True
                break
    finally:
        log.close()
    save_checkpoint(net, run_dir / "checkpoints" / "final.pt")
    return BdqResult(net, log, steps, stopped)


def save_checkpoint(net: nn.Module, path: Path) -> None:
    """Weights only (tensors), readable back with ``torch.load(weights_only=True)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
