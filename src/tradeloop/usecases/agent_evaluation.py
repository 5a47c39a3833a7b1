"""Evaluate a registered agent on a period (``tradeloop agent evaluate``): each symbol's
sessions run once through the same environment (fees, slippage, exits) by the agent and
by its baselines (buy-and-hold at the largest size, a seeded random agent, ``sma_cross``
10/30 long-only at the largest size, and the benchmark symbol held at the largest size);
PIM metrics per policy, the raw buy-and-hold returns for reference, and an equity PNG.
A period that overlaps the agent's or its curve's training data is flagged."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.core.time import iso_from_ns
from tradeloop.models.rl.evaluation import run_period
from tradeloop.models.rl.market_state import STATE_SIZE
from tradeloop.models.rl.policy import AgentPolicy
from tradeloop.models.rl.trading_env import HOLD, LONG, SymbolHistory
from tradeloop.usecases.agent_data import histories, state_frame
from tradeloop.usecases.agent_training import (
    AGENT_MODEL_NAME,
    POLICY_FILE,
    STATE_SCHEMA_HASH,
    AgentSources,
    env_config,
    load_curve,
)

Act = Callable[[np.ndarray], np.ndarray]
KEYS = ("total_return", "sharpe", "max_drawdown", "win_rate", "avg_profit_per_trade", "trades")


@dataclass(frozen=True)
class Evaluation:
    agent_id: str
    table: dict[str, dict[str, float]]  # policy -> mean metrics over the symbols
    per_symbol: dict[str, dict[str, dict[str, float]]]
    raw_buy_and_hold: dict[str, float]
    overlaps_training: list[str]
    png: bytes


def _scripted(actions: np.ndarray) -> Act:
    step = iter(actions)
    return lambda _: next(step)


def _sma_actions(close: np.ndarray, largest: int) -> np.ndarray:
    fast = np.convolve(close, np.ones(10) / 10)[: close.size]
    slow = np.convolve(close, np.ones(30) / 30)[: close.size]
    long = (np.arange(close.size) >= 29) & (fast > slow)
    return np.column_stack([np.where(long, LONG, HOLD), np.full(close.size, largest)])


def _policies(policy: AgentPolicy, history: SymbolHistory, sizes: int, seed: int) -> dict[str, Act]:
    n, largest = history.states.shape[0], sizes - 1
    rng = np.random.default_rng(seed)
    return {
        "agent": policy.act,
        "buy_and_hold": lambda _: np.array([LONG, largest]),
        "random": _scripted(np.column_stack([rng.integers(0, 3, n), rng.integers(0, sizes, n)])),
        "sma_cross": _scripted(_sma_actions(history.close, largest)),
    }


def _benchmark(sources: AgentSources, symbol: str, start: int, end: int) -> SymbolHistory | None:
    bars = sources.bars_of([symbol]).filter(pl.col("ts").is_between(start, end)).sort("ts")
    if bars.height < 2:
        return None
    prices = [bars[c].to_numpy().astype(np.float64) for c in ("open", "close")]
    states = np.zeros((bars.height, STATE_SIZE), np.float32)
    return SymbolHistory(symbol, states, prices[0], prices[1], bars["ts"].to_numpy())


def _overlaps(manifest: dict[str, Any], curve: dict[str, Any], start_ns: int) -> list[str]:
    found = []
    if start_ns <= int(manifest.get("trained_end_ns", 0)):
        found.append(f"the agent trained on sessions up to {manifest.get('train_end', '?')[:10]}")
    if start_ns <= int(curve.get("trained_end_ns", 0)):
        found.append(f"its curve trained on sessions up to {curve.get('trained_end', '?')[:10]}")
    return found


def _run_symbol(
    sources: AgentSources, history: SymbolHistory, policy: AgentPolicy, agent_config: Any
) -> dict[str, tuple[np.ndarray, dict[str, float]]]:
    """Every policy (and the benchmark) over one symbol's period."""
    config = env_config(agent_config)
    largest = len(config.sizes) - 1
    acts = _policies(policy, history, len(config.sizes), agent_config.seed)
    # the agent and the random agent trade under the curve's stops and targets; the
    # baselines hold by their own rules
    holding = dataclasses.replace(config, use_exits=False)
    runs = {name: run_period(history, config if name in ("agent", "random") else holding, act)
            for name, act in acts.items()}  # fmt: skip
    first, last = int(history.ts[0]), int(history.ts[-1])
    bench = _benchmark(sources, agent_config.benchmark, first, last)
    if bench is not None:
        runs["benchmark"] = run_period(bench, holding, lambda _: np.array([LONG, largest]))
    return runs


def evaluate_agent(sources: AgentSources, ref: str, start_ns: int, end_ns: int) -> Evaluation:
    registry = sources.registry
    version = registry.find(ref, AGENT_MODEL_NAME)
    files, manifest = registry.load(version.model_version_id)
    if manifest.get("feature_schema_hash") != STATE_SCHEMA_HASH:
        raise DataError(f"agent {version.model_version_id} was built on another market state")
    agent_config = _agent_config(manifest)
    curve_id, curve = load_curve(registry, str(manifest.get("curve_version_id", "active")))
    symbols = list(manifest["symbols"])
    frame = state_frame(sources.bars_of, symbols, curve, sources.curve_config,
                        sources.optional(symbols), end_ns)  # fmt: skip
    period = [h for h in histories(frame, start_ns, end_ns) if h.states.shape[0] > 1]
    if not period:
        raise DataError(f"no stored sessions of {', '.join(symbols)} between the dates")
    policy = AgentPolicy(files[POLICY_FILE], manifest["branches"])
    runs = {h.symbol: _run_symbol(sources, h, policy, agent_config) for h in period}
    per_symbol = {s: {k: v[1] for k, v in r.items()} for s, r in runs.items()}
    names = next(iter(per_symbol.values()))
    table = {
        name: {k: float(np.mean([m[name][k] for m in per_symbol.values() if name in m]))
               for k in KEYS}
        for name in names
    }  # fmt: skip
    raw = {h.symbol: float(h.close[-1] / h.close[0] - 1) for h in period}
    title = (f"agent {version.model_version_id} "
             f"{iso_from_ns(start_ns)[:10]}..{iso_from_ns(end_ns)[:10]}")  # fmt: skip
    png = equity_png({s: {k: v[0] for k, v in r.items()} for s, r in runs.items()}, title)
    overlaps = _overlaps(manifest, registry.load(curve_id)[1], start_ns)
    return Evaluation(version.model_version_id, table, per_symbol, raw, overlaps, png)


def _agent_config(manifest: dict[str, Any]) -> Any:
    from tradeloop.models.config import AgentConfig

    return AgentConfig.model_validate(manifest["agent_config"])


def equity_png(curves: dict[str, dict[str, np.ndarray]], title: str) -> bytes:
    """One panel per symbol: each policy's equity (starting at 1)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(curves), 1, figsize=(9, 3 * len(curves)), dpi=100,
                                squeeze=False)  # fmt: skip
    for axis, (symbol, runs) in zip(axes[:, 0], curves.items(), strict=True):
        for name, equity in runs.items():
            axis.plot(equity, linewidth=2 if name == "agent" else 1, label=name)
        axis.set_title(f"{symbol}")
        axis.set_ylabel("equity")
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    plt.close(figure)
    return out.getvalue()


def write_report(evaluation: Evaluation, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "equity.png").write_bytes(evaluation.png)
    return folder / "equity.png"
