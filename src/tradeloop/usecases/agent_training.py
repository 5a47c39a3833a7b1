"""Train a PIM agent on stored history and register it (``tradeloop agent train``).

The sessions' states come from a registered curve version (``agent.curve_alias``); the
last ``validation_fraction`` of the range is held out and the trained policy is run over
it once, symbol by symbol, for the validation figures. The version holds the ONNX policy
(what every trading mode acts with; no torch at run time), the final checkpoint (weights
only), the training log, the learning curve and a model card; its manifest records the
data ranges, the seed, the curve version and the metrics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.core.time import iso_from_ns
from tradeloop.models.config import AgentConfig, CurveConfig
from tradeloop.models.curve_model import CURVE_MODEL_NAME, CurveModel
from tradeloop.models.rl.evaluation import run_period
from tradeloop.models.rl.market_state import STATE_FIELDS
from tradeloop.models.rl.policy import AgentPolicy, policy_onnx
from tradeloop.models.rl.trading_env import DailyTradingEnv, EnvConfig, SymbolHistory
from tradeloop.models.rl.training_log import learning_curve_png
from tradeloop.registry.model_card import render_model_card
from tradeloop.registry.registry import ModelRegistry
from tradeloop.usecases.agent_data import histories, state_frame
from tradeloop.usecases.curve_training import BarsOf, OptionalRows

AGENT_MODEL_NAME = "agent"
POLICY_FILE = "policy.onnx"
STATE_SCHEMA_HASH = hashlib.sha256(
    json.dumps([(f.name, f.unit, f.source) for f in STATE_FIELDS]).encode()
).hexdigest()


@dataclass(frozen=True)
class AgentSources:
    registry: ModelRegistry
    bars_of: BarsOf
    optional: Callable[[list[str]], OptionalRows]  # the dated feature files of these symbols
    curve_config: CurveConfig
    runs_dir: Path


@dataclass(frozen=True)
class AgentRequest:
    symbols: list[str]
    config: AgentConfig
    start_ns: int
    end_ns: int
    risk_head: bool = False


@dataclass(frozen=True)
class AgentOutcome:
    version_id: str
    manifest: dict[str, Any]
    run_dir: Path


def env_config(config: AgentConfig) -> EnvConfig:
    return EnvConfig(
        episode_length=config.episode_length, sizes=config.sizes, fee_bps=config.fee_bps,
        slippage_bps=config.slippage_bps, max_trades=config.max_trades,
        allow_short=config.allow_short, stop_base=config.stop_base, stop_risk=config.stop_risk,
    )  # fmt: skip


def load_curve(registry: ModelRegistry, ref: str) -> tuple[str, CurveModel]:
    """The curve version ``ref`` names (an alias or a version id)."""
    if ref in ("active", "candidate", "shadow", "prev") and not registry.resolve(
        CURVE_MODEL_NAME, ref
    ):
        raise DataError(
            f"no curve version aliased {ref!r}: the agent's states need one. Fix: tradeloop "
            "curve train, then tradeloop models promote candidate --name curve --to active"
        )
    version_id = registry.find(ref, CURVE_MODEL_NAME).model_version_id
    files, manifest = registry.load(version_id)
    return version_id, CurveModel(files, manifest)


def _split(frame: pl.DataFrame, request: AgentRequest) -> tuple[int, int]:
    """(last training session, first validation session)."""
    inside = frame.filter(pl.col("ts").is_between(request.start_ns, request.end_ns))
    sessions = np.unique(inside["ts"].to_numpy())
    if sessions.size < request.config.episode_length + 2:
        raise DataError(
            f"{sessions.size} sessions between the dates: an episode needs "
            f"{request.config.episode_length + 1}. Fix: a longer --start/--end range or a "
            "shorter agent.episode_length"
        )
    held = int(sessions.size * request.config.validation_fraction)
    cut = sessions.size - held - 1
    return int(sessions[cut]), int(sessions[min(cut + 1, sessions.size - 1)])


def _train(make_env: Callable[[], DailyTradingEnv], request: AgentRequest, run_dir: Path,
           on_episode: Callable[[int, float], None] | None) -> tuple[Any, ...]:  # fmt: skip
    """(dense layers, training log, steps, stopped early) of the chosen algorithm."""
    config = request.config
    if config.algo == "ppo":
        from tradeloop.models.rl.ppo_agent import PpoConfig, train_ppo

        ppo = train_ppo(make_env, config.episodes, PpoConfig(seed=config.seed,
                        patience=config.patience), run_dir, on_episode)  # fmt: skip
        return ppo.layers, ppo.log, ppo.steps, ppo.stopped_early
    from tradeloop.models.rl.branching_dqn import BdqConfig, train_bdq

    bdq = train_bdq(make_env, config.episodes, BdqConfig(seed=config.seed, patience=config.patience,
                    risk_head=request.risk_head), run_dir, on_episode)  # fmt: skip
    return bdq.network.policy_layers(), bdq.log, bdq.steps, bdq.stopped_early


def validate(
    policy: AgentPolicy, held_out: list[SymbolHistory], config: EnvConfig
) -> dict[str, Any]:
    """The policy over each held-out symbol's whole period: per-symbol metrics and their mean."""
    per_symbol = {h.symbol: run_period(h, config, policy.act)[1] for h in held_out
                  if h.states.shape[0] > 1}  # fmt: skip
    keys = ("total_return", "sharpe", "max_drawdown", "win_rate", "avg_profit_per_trade", "trades")
    mean = (
        {k: float(np.mean([m[k] for m in per_symbol.values()])) for k in keys} if per_symbol else {}
    )
    return {"mean": mean, "per_symbol": per_symbol}


def train_and_register_agent(
    sources: AgentSources, request: AgentRequest,
    on_episode: Callable[[int, float], None] | None = None,
) -> AgentOutcome:  # fmt: skip
    config = request.config
    curve_id, curve = load_curve(sources.registry, config.curve_alias)
    frame = state_frame(sources.bars_of, request.symbols, curve, sources.curve_config,
                        sources.optional(request.symbols), request.end_ns)  # fmt: skip
    train_end, valid_start = _split(frame, request)
    train = histories(frame, request.start_ns, train_end)
    environment = env_config(config)
    run_dir = sources.runs_dir / f"{config.algo}-{time.strftime('%Y%m%dT%H%M%S')}-{config.seed}"
    layers, log, steps, stopped = _train(lambda: DailyTradingEnv(train, environment), request,
                                         run_dir, on_episode)  # fmt: skip
    policy_bytes = policy_onnx(layers)
    held = histories(frame, valid_start, request.end_ns) if config.validation_fraction else []
    validation = validate(AgentPolicy(policy_bytes, [3, len(config.sizes)]), held, environment)
    manifest = {
        "kind": "rl-agent", "algo": config.algo, "risk_head": request.risk_head,
        "created_at": iso_from_ns(time.time_ns()), "symbols": request.symbols,
        "train_start": iso_from_ns(request.start_ns), "train_end": iso_from_ns(train_end),
        "validation_start": iso_from_ns(valid_start), "validation_end": iso_from_ns(request.end_ns),
        "trained_end_ns": train_end, "seed": config.seed, "episodes": len(log.rows),
        "steps": steps, "stopped_early": stopped, "learning": log.improvement(),
        "validation": validation, "branches": [3, len(config.sizes)], "sizes": list(config.sizes),
        "environment": dataclasses.asdict(environment), "curve_version_id": curve_id,
        "feature_schema_hash": STATE_SCHEMA_HASH, "agent_config": config.model_dump(mode="json"),
        "metrics": validation["mean"], "run_dir": str(run_dir),
    }  # fmt: skip
    files = {
        POLICY_FILE: policy_bytes,
        "checkpoint.pt": (run_dir / "checkpoints" / "final.pt").read_bytes(),
        "training_log.csv": log.csv_bytes(),
        "learning_curve.png": learning_curve_png(
            log.returns, f"{config.algo} on {', '.join(request.symbols)}"
        ),
    }
    files["MODEL_CARD.md"] = render_model_card(AGENT_MODEL_NAME, manifest).encode()
    version = sources.registry.register(AGENT_MODEL_NAME, files, manifest)
    sources.registry.promote(AGENT_MODEL_NAME, version.model_version_id, "candidate",
                             actor="agent train", reason="new training run")  # fmt: skip
    return AgentOutcome(version.model_version_id, version.manifest, run_dir)
