"""The signal engine, the scorer and the risk screen of the scalper's stream topology."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeloop.core.bus import Message
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.gate import RiskGate
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.fakes import InMemoryDecisionLog
from tradeloop.usecases.scalper_config import ScalperConfig, ScorerStageConfig, SignalEngineConfig
from tradeloop.usecases.scalper_risk import RiskStage, RoundTripLedger
from tradeloop.usecases.scalper_scorer import CandidateScorer, LogisticBaseline, side_adjusted
from tradeloop.usecases.scalper_signal import SignalEngine
from tradeloop.usecases.stream_stage import (
    APPROVED,
    CONTROL,
    DROPS,
    FILLS,
    SCORED,
    Decisions,
)

T0 = 1_767_571_200_000_000_000


def book(ts: int, bid_size: float, ask_size: float, bid: float = 100.0, ask: float = 100.1,
         symbol: str = "BTCUSDT") -> Message:  # fmt: skip
    payload = {"kind": "book", "symbol": symbol, "ts": ts, "wall_ns": 1,
               "bids": [[bid, bid_size]], "asks": [[ask, ask_size]]}  # fmt: skip
    return Message("md", payload, f"md-{ts}")


def test_signal_engine_when_book_leans_then_candidate_on_that_side_once_per_cooldown() -> None:
    engine = SignalEngine(SignalEngineConfig(levels=1, min_imbalance=0.5, cooldown_ms=1_000))
    assert engine.handle(book(T0, 1.0, 1.0)) == []  # balanced
    [buy] = engine.handle(book(T0 + 1, 9.0, 1.0))
    assert buy.payload["side"] == "buy"
    assert buy.payload["features"]["imbalance"] == pytest.approx(0.8)
    assert engine.handle(book(T0 + 2, 1.0, 9.0)) == []  # inside the cooldown
    [sell] = engine.handle(book(T0 + 1_000_000_001, 1.0, 9.0))
    assert sell.payload["side"] == "sell"
    # the candidate's id derives from the market message: the same on a redelivery
    again = SignalEngine(SignalEngineConfig(levels=1, min_imbalance=0.5, cooldown_ms=1_000))
    assert again.handle(book(T0 + 1, 9.0, 1.0))[0].message_id == buy.message_id


def test_signal_engine_when_spread_wide_then_no_candidate() -> None:
    engine = SignalEngine(SignalEngineConfig(levels=1, min_imbalance=0.5, max_spread_bps=5))
    assert engine.handle(book(T0, 9.0, 1.0, bid=100.0, ask=100.1)) == []  # 10 bps


def test_signal_engine_when_trades_then_flow_feature_counts_them() -> None:
    engine = SignalEngine(SignalEngineConfig(levels=1, min_imbalance=0.5, cooldown_ms=0))
    trade = {"kind": "trade", "symbol": "BTCUSDT", "ts": T0, "price": 100.1, "qty": 3.0,
             "side": "buy"}  # fmt: skip
    assert engine.handle(Message("md", trade, "t1")) == []
    [candidate] = engine.handle(book(T0 + 1, 9.0, 1.0))
    assert candidate.payload["features"]["flow_imbalance"] == 1.0


def test_baseline_when_scoring_then_sigmoid_of_side_adjusted_features() -> None:
    config = ScorerStageConfig(intercept=-0.5, weights={"imbalance": 2.0, "spread_bps": -0.1})
    model = LogisticBaseline.from_config(config)
    features = {"imbalance": -0.6, "flow_imbalance": 0.0, "spread_bps": 2.0,
                "micro_dev_bps": 1.0, "return_bps": 0.0}  # fmt: skip
    z = -0.5 + 2.0 * 0.6 - 0.1 * 2.0  # a sell: the imbalance's sign turns
    assert model.probability(side_adjusted(features, "sell")) == pytest.approx(
        1 / (1 + math.exp(-z))
    )
    scorer = CandidateScorer(model, tau_entry=0.6)
    candidate = Message("candidates", {"signal_id": "s", "side": "sell", "features": features},
                        "c1")  # fmt: skip
    [scored] = scorer.handle(candidate)
    assert scored.topic == SCORED
    assert scored.payload["approved"] is (1 / (1 + math.exp(-z)) >= 0.6)
    assert scored.payload["model_id"] == "baseline"


def test_baseline_when_weight_names_unknown_then_error_names_them() -> None:
    with pytest.raises(ValueError, match="imbalanse"):
        LogisticBaseline.from_config(ScorerStageConfig(weights={"imbalanse": 1.0}))


def test_scalper_config_when_symbol_lacks_instrument_then_refused() -> None:
    with pytest.raises(ValueError, match=r"ETHUSDT have no entry in scalper\.instruments"):
        ScalperConfig(symbols=("ETHUSDT",))


# -- risk ----------------------------------------------------------------------------------


def risk_stage(tmp_path: Path, **risk: Any) -> tuple[RiskStage, InMemoryDecisionLog]:
    config = RiskConfig(**{"loss_streak_max": None, "daily_loss_limit": None, **risk})
    gate = RiskGate(config, KillSwitch(tmp_path / "KILL_SWITCH"))
    log = InMemoryDecisionLog()
    stage = RiskStage(gate, Decisions(log, "risk", lambda: T0), RoundTripLedger(Decimal(10_000)),
                      Decisions(log, "risk-fills", lambda: T0))  # fmt: skip
    return stage, log


def scored(n: int, side: str = "buy", approved: bool = True, redelivered: bool = False) -> Message:
    payload = {"signal_id": f"s{n}", "symbol": "BTCUSDT", "ts": T0 + n, "side": side,
               "price": 60_000.0, "approved": approved}  # fmt: skip
    return Message(SCORED, payload, f"scored-{n}", redelivered)


def decide(stage: RiskStage, message: Message) -> Message:
    out = stage.handle(message) + stage.commit()
    assert len(out) == 1
    return out[0]


def test_risk_when_clear_then_passes_and_when_scorer_said_no_then_silent(tmp_path: Path) -> None:
    stage, _ = risk_stage(tmp_path)
    assert decide(stage, scored(1)).topic == APPROVED
    assert stage.handle(scored(2, approved=False)) + stage.commit() == []


def test_risk_when_kill_switch_or_halt_event_then_drops_with_reason(tmp_path: Path) -> None:
    stage, _ = risk_stage(tmp_path)
    (tmp_path / "KILL_SWITCH").write_text("operator\n")
    dropped = decide(stage, scored(1))
    assert dropped.topic == DROPS
    assert dropped.payload["reason"].startswith("KILL_SWITCH")
    (tmp_path / "KILL_SWITCH").unlink()
    stage.handle(Message(CONTROL, {"type": "HALT", "reason": "drill"}, "c1"))
    assert decide(stage, scored(2)).payload["reason"].startswith("HALTED")
    stage.handle(Message(CONTROL, {"type": "RESUME", "reason": "drill over"}, "c2"))
    assert decide(stage, scored(3)).topic == APPROVED


def fill(n: int, side: str, price: str, qty: str = "0.1", fee: str = "0") -> Message:
    payload = {"fill_id": f"f{n}", "client_order_id": f"sc{n}", "symbol": "BTCUSDT",
               "side": side, "quantity": qty, "price": price, "commission": fee,
               "ts": T0 + n}  # fmt: skip
    return Message(FILLS, payload, f"fill-{n}")


def test_risk_when_day_loses_past_the_cap_then_drops_daily_cap(tmp_path: Path) -> None:
    stage, _ = risk_stage(tmp_path, daily_loss_cap_usd=100.0)
    for message in (fill(1, "buy", "60000"), fill(2, "sell", "59000")):  # -100 USD
        stage.handle(message)
    stage.commit()
    assert decide(stage, scored(3)).payload["reason"].startswith("DAILY_CAP")


def test_risk_when_losing_streak_then_cooldown_drops(tmp_path: Path) -> None:
    stage, _ = risk_stage(tmp_path, loss_streak_max=2, session_cooldown_minutes=1)
    for n in range(0, 4, 2):
        stage.handle(fill(n, "buy", "60000"))
        stage.handle(fill(n + 1, "sell", "59990"))
    stage.commit()
    assert decide(stage, scored(5)).payload["reason"].startswith("LOSS_STREAK")
    assert decide(stage, scored(61_000_000_000)).topic == APPROVED  # a minute later


def test_risk_when_leverage_puts_liquidation_inside_the_stop_then_drops_short(
    tmp_path: Path,
) -> None:
    # 100x: liquidation ~0.5 % away; 1.5 x a 50 bps stop needs 0.75 %
    stage, _ = risk_stage(tmp_path, margin_leverage=100.0, assumed_stop_bps=50.0)
    dropped = decide(stage, scored(1, side="sell"))
    assert "near_liquidation_short" in dropped.payload["reason"]
    assert stage.gate.triggers["near_liquidation_short"] == 1


def test_risk_when_redelivered_then_first_verdict_stands(tmp_path: Path) -> None:
    stage, log = risk_stage(tmp_path)
    first = decide(stage, scored(1))
    (tmp_path / "KILL_SWITCH").write_text("now halted\n")
    again = decide(stage, scored(1, redelivered=True))
    assert (again.topic, again.message_id) == (first.topic, first.message_id)
    assert log.get("risk", ["scored-1"]) == {"scored-1": {"outcome": "approved"}}


def test_risk_when_fill_redelivered_then_applied_once(tmp_path: Path) -> None:
    stage, _ = risk_stage(tmp_path)
    stage.handle(fill(1, "buy", "60000"))
    stage.commit()
    stage.handle(dataclasses.replace(fill(1, "buy", "60000"), redelivered=True))
    assert stage.ledger.positions["BTCUSDT"] == Decimal("0.1")


@given(
    st.lists(
        st.tuples(st.sampled_from([-3, -2, -1, 1, 2, 3]), st.integers(90, 110), st.integers(0, 3)),
        min_size=1, max_size=40,
    )
)  # fmt: skip
def test_ledger_when_any_fills_then_pnl_equals_exact_oracle(
    fills: list[tuple[int, int, int]],
) -> None:
    ledger = RoundTripLedger(Decimal(0))
    trips = []
    for quantity, price, fee in fills:
        trip = ledger.apply("X", Decimal(quantity), Decimal(price), Decimal(fee))
        if trip is not None:
            trips.append(trip)
    # the oracle: cash flows in exact fractions; realised = cash + position at average cost
    cash, position, cost = Fraction(0), Fraction(0), Fraction(0)
    for quantity, price, fee in fills:
        cash -= quantity * price + fee
        if position == 0 or (position > 0) == (quantity > 0):
            cost += quantity * price
        elif abs(quantity) <= abs(position):
            cost -= cost * Fraction(abs(quantity)) / abs(position)  # the basis it closes
        else:
            cost = (position + quantity) * price
        position += quantity
    # exact but for Decimal's 28 digits in an average entry price
    assert abs(Fraction(ledger.realised) - (cash + cost)) < Fraction(1, 10**18)
    assert ledger.positions["X"] == position
