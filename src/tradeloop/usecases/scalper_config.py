"""Configuration of the scalper's stream services (``scalper:`` in tradeloop.yaml).

The names follow the scalper runbook (shared/origins/scalper_readme.md): ``warmup``,
``backpressure``, ``gates.liquidity_by_side``, ``ai_scorer.tau_entry``. Sizing, the daily
cap, the loss streak and the near-liquidation guard are the ``risk:`` section's, shared
with every other mode (the ``scalper`` profile sets the runbook's values there).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tradeloop.core.config import FrozenConfig


class StreamsConfig(FrozenConfig):
    """Where the services meet: Redis Streams (``TRADELOOP_REDIS_URL``) or, without it, the
    in-process bus of a single-process run."""

    prefix: str = Field("scalper", pattern=r"^[A-Za-z0-9_.-]+$", description="stream key prefix")
    block_ms: int = Field(5, ge=0, le=10_000, description="longest wait for new messages")
    batch: int = Field(200, ge=1, le=10_000, description="messages read per call")
    claim_idle_ms: int = Field(
        5_000, ge=100, description="a dead consumer's messages are claimed after this idle time"
    )
    maxlen: int = Field(1_000_000, ge=1_000, description="entries each stream keeps (approx.)")
    done_ttl_s: int = Field(
        3_600, ge=60,
        description="how long a group remembers the ids it handled (a duplicate published "
        "within it is skipped; the stores' own keys catch the rest)",
    )  # fmt: skip


class SyntheticTicksConfig(FrozenConfig):
    """The seeded synthetic crypto market (the collector's offline default)."""

    seed: int = Field(11, description="same seed + symbol -> same ticks")
    start_price: float = Field(60_000.0, gt=0, description="first mid price")
    tick_size: float = Field(0.1, gt=0, description="price increment")
    interval_ms: int = Field(100, ge=1, description="event time between book updates")
    levels: int = Field(10, ge=1, le=200, description="book levels per side")
    volatility_bps: float = Field(2.0, ge=0, description="per-update mid move (std, bps)")


class SignalEngineConfig(FrozenConfig):
    """Candidates from the book: order-book imbalance confirmed by trade flow."""

    levels: int = Field(3, ge=1, le=50, description="book levels in the imbalance")
    min_imbalance: float = Field(
        0.40, gt=0, le=1, description="|bid - ask| / (bid + ask) depth to raise a candidate"
    )
    flow_window_ms: int = Field(1_000, ge=1, description="trades summed into the flow imbalance")
    cooldown_ms: int = Field(500, ge=0, description="event time between two candidates of a symbol")
    max_spread_bps: float = Field(10.0, gt=0, description="no candidate on a wider spread")
    book_levels: int = Field(
        5, ge=1, le=50, description="book levels a candidate carries (the liquidity gate's)"
    )


class ScorerStageConfig(FrozenConfig):
    """``ai_scorer``: the probability that a candidate wins, and the entry threshold."""

    model_path: str | None = Field(
        None,
        description="an ONNX classifier over the candidate features (its metadata names "
        "them); unset: the logistic baseline below",
    )
    registry_name: str = Field(
        "scalper",
        description="with no model_path: the registry model whose active version scores "
        "(tradeloop scalper train registers one; unset active: the baseline below)",
    )
    tau_entry: float = Field(0.55, gt=0, lt=1, description="approve at P >= this")
    intercept: float = Field(0.0, description="baseline: logit intercept")
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "imbalance": 2.0,
            "flow_imbalance": 1.0,
            "spread_bps": -0.05,
            "micro_dev_bps": 0.02,
            "return_bps": 0.0,
        },
        description="baseline: logit weight per feature (side-adjusted: + favours the side)",
    )


class WarmupConfig(FrozenConfig):
    enabled: bool = Field(True, description="drop signals until the book has been seen")
    seconds: float = Field(5.0, ge=0, description="event time of book data before trading")


class BackpressureConfig(FrozenConfig):
    enabled: bool = Field(True, description="react when sig:approved queues up")
    max_queue_len: int = Field(1_000, ge=1, description="approved signals waiting before it acts")
    drop_mode: Literal["halt", "degrade"] = Field(
        "halt", description="halt: drop while over; degrade: only signals above degrade_tau"
    )
    degrade_tau: float = Field(0.70, gt=0, lt=1, description="degrade: the tighter threshold")


class LiquidityBySideConfig(FrozenConfig):
    enabled: bool = Field(True, description="need depth on the side an order would take")
    alpha: float = Field(1.5, gt=0, description="depth needed, as a multiple of the order size")
    levels: int = Field(3, ge=1, le=50, description="book levels summed")


class ExecutorGatesConfig(FrozenConfig):
    liquidity_by_side: LiquidityBySideConfig = Field(
        default_factory=LiquidityBySideConfig,
        description="depth on the side an order trades against",
    )


class ExitsConfig(FrozenConfig):
    """How a filled entry leaves: a take-profit limit, else a stop or a time limit."""

    take_profit_bps: float = Field(4.0, gt=0, description="take-profit distance from the fill")
    stop_loss_bps: float = Field(8.0, gt=0, description="adverse mid move that exits at market")
    max_hold_ms: int = Field(15_000, ge=1, description="event time before a market exit")
    entry_ttl_ms: int = Field(
        3_000, ge=1, description="an unfilled entry is canceled after this much event time"
    )


class ExecutorStageConfig(FrozenConfig):
    """The executor: gates, sizing inputs and the order it sends."""

    warmup: WarmupConfig = Field(
        default_factory=WarmupConfig, description="the warm-up gate (warmup_drop_total{symbol})"
    )
    backpressure: BackpressureConfig = Field(
        default_factory=BackpressureConfig,
        description="backpressure on sig:approved (backpressure_total{mode})",
    )
    gates: ExecutorGatesConfig = Field(
        default_factory=ExecutorGatesConfig, description="the order gates"
    )
    exits: ExitsConfig = Field(
        default_factory=ExitsConfig, description="take-profit, stop and time exits"
    )
    free_balance_usd: float = Field(
        10_000.0, gt=0, description="paper: the account's free balance for sizing"
    )
    max_signal_age_ms: int = Field(
        2_000, ge=1, description="event time an approved signal stays actionable"
    )


class DataHealthConfig(FrozenConfig):
    """The risk service's data-health checks."""

    parquet_root: str | None = Field(
        None, description="tick archive to scan for gaps (unset: var/lake/ticks)"
    )
    max_gap_ms: int = Field(5_000, ge=1, description="a silence longer than this is a gap")
    reference_file: str | None = Field(
        None,
        description="instrument reference (symbol, lot_size, tick_size, maker_fee, taker_fee) "
        "as CSV; unset: the bundled Bybit linear table",
    )
    interval_s: float = Field(300.0, gt=0, description="seconds between two scans")


class InstrumentConfig(FrozenConfig):
    """One traded instrument as the venue defines it (checked against the reference)."""

    lot_size: float = Field(gt=0, description="quantity step; sizes round down to it")
    tick_size: float = Field(gt=0, description="price step")
    min_qty: float = Field(0.0, ge=0, description="smallest order; smaller signals are dropped")
    maker_fee: float = Field(0.0002, ge=-0.01, le=0.01, description="fee rate adding liquidity")
    taker_fee: float = Field(0.00055, ge=0, le=0.01, description="fee rate taking liquidity")


def _bybit_btc() -> dict[str, InstrumentConfig]:
    return {
        "BTCUSDT": InstrumentConfig(
            lot_size=0.001, tick_size=0.1, min_qty=0.001, maker_fee=0.0002, taker_fee=0.00055
        )
    }


class ScalperConfig(FrozenConfig):
    """The scalper's services: collector, signal engine, ai_scorer, risk, executor."""

    symbols: tuple[str, ...] = Field(("BTCUSDT",), min_length=1, description="traded symbols")
    source: Literal["synthetic", "bybit"] = Field(
        "synthetic", description="collector: the seeded synthetic market or Bybit V5 public"
    )
    bybit_ws_url: str | None = Field(
        None,
        pattern=r"^wss?://",
        description="source bybit: the public websocket (unset: Bybit's linear mainnet stream)",
    )
    book_levels: int = Field(10, ge=1, le=50, description="source bybit: book levels published")
    instruments: dict[str, InstrumentConfig] = Field(
        default_factory=_bybit_btc,
        description="per symbol: lot_size, tick_size, min_qty, maker_fee, taker_fee (Bybit's)",
    )
    streams: StreamsConfig = Field(
        default_factory=StreamsConfig, description="where the services meet (Redis Streams)"
    )
    synthetic: SyntheticTicksConfig = Field(
        default_factory=SyntheticTicksConfig,
        description="the seeded synthetic tape (source: synthetic)",
    )
    signal: SignalEngineConfig = Field(
        default_factory=SignalEngineConfig, description="the signal engine"
    )
    ai_scorer: ScorerStageConfig = Field(
        default_factory=ScorerStageConfig, description="the scorer and its entry threshold"
    )
    executor: ExecutorStageConfig = Field(
        default_factory=ExecutorStageConfig,
        description="the executor's gates, exits and paper account",
    )
    data_health: DataHealthConfig = Field(
        default_factory=DataHealthConfig, description="the risk service's data-health checks"
    )

    @model_validator(mode="after")
    def _levels_carried(self) -> ScalperConfig:
        gate = self.executor.gates.liquidity_by_side
        if gate.enabled and gate.levels > self.signal.book_levels:
            raise ValueError(
                f"executor.gates.liquidity_by_side.levels {gate.levels} > signal.book_levels "
                f"{self.signal.book_levels}: the gate would not see the levels it sums. Fix: "
                f"set signal.book_levels to at least {gate.levels}"
            )
        return self

    @model_validator(mode="after")
    def _instruments_known(self) -> ScalperConfig:
        missing = [s for s in self.symbols if s not in self.instruments]
        if missing:
            raise ValueError(
                f"symbols {', '.join(missing)} have no entry in scalper.instruments. Fix: add "
                "lot_size, tick_size, min_qty, maker_fee, taker_fee for each (the values of "
                "tradeloop tools validate-symbols --reference)"
            )
        return self
