"""What an agent's training leaves behind: the episode log (CSV), TensorBoard event files,
the learning-curve PNG, and the early-stopping rule (no improvement of the smoothed
episode return for ``patience`` episodes)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class TrainingLog:
    """Episodes as they end; ``writer`` is TensorBoard's (None: no event files)."""

    run_dir: Path
    patience: int = 0  # 0: never stop early
    window: int = 10
    rows: list[dict[str, float]] = field(default_factory=list)
    best: float = -math.inf
    since_best: int = 0
    writer: Any = None

    def open(self) -> TrainingLog:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))
        return self

    def episode(self, steps: int, episode_return: float, **extra: float) -> bool:
        """Record one episode; True when training should stop early."""
        row = {"episode": float(len(self.rows) + 1), "steps": float(steps),
               "return": float(episode_return)}  # fmt: skip
        row.update({k: float(v) for k, v in extra.items()})
        self.rows.append(row)
        if self.writer is not None:
            for key, value in row.items():
                if key != "episode":
                    self.writer.add_scalar(f"episode/{key}", value, int(row["episode"]))
        smoothed = float(np.mean([r["return"] for r in self.rows[-self.window :]]))
        if smoothed > self.best + 1e-9:
            self.best, self.since_best = smoothed, 0
        else:
            self.since_best += 1
        return (
            self.patience > 0 and len(self.rows) >= self.window and self.since_best >= self.patience
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None

    @property
    def returns(self) -> np.ndarray:
        return np.array([r["return"] for r in self.rows])

    def csv_bytes(self) -> bytes:
        out = io.StringIO()
        names = list(dict.fromkeys(k for r in self.rows for k in r))
        writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue().encode()

    def improvement(self) -> dict[str, float]:
        """Mean episode return of the first and last deciles (the learning-curve check)."""
        returns = self.returns
        if returns.size == 0:
            return {"first_decile": 0.0, "last_decile": 0.0}
        k = max(1, returns.size // 10)
        return {
            "first_decile": float(returns[:k].mean()),
            "last_decile": float(returns[-k:].mean()),
        }


def learning_curve_png(returns: np.ndarray, title: str, window: int = 10) -> bytes:
    """Episode returns and their moving mean, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4), dpi=100)
    episodes = np.arange(1, returns.size + 1)
    axis.plot(episodes, returns, color="#9bb", linewidth=0.8, label="episode return")
    if returns.size >= window:
        smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
        axis.plot(episodes[window - 1 :], smooth, color="#036", linewidth=2,
                  label=f"mean of {window}")  # fmt: skip
    axis.set_xlabel("episode")
    axis.set_ylabel("return (reward units)")
    axis.set_title(title)
    axis.legend(loc="lower right")
    axis.grid(alpha=0.3)
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="png", metadata={"Software": None})
    plt.close(figure)
    return out.getvalue()
