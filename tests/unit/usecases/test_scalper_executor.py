"""The scalper's executor: its gates, the runbook's sizing, one order per signal, the exits,
and the paper venue it trades against by default."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradeloop.core.bus import Message
from tradeloop.domain.enums import OrderType, Side
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.journal import InMemoryOrderJournal
from tradeloop.execution.order_manager import OrderManager, VenueFill, VenueRejection
from tradeloop.execution.tick_paper_venue import TickPaperVenue
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.gate import RiskGate
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.fakes import InMemoryDecisionLog
from tradeloop.usecases.scalper_config import ExecutorStageConfig, ExitsConfig, ScalperConfig
from tradeloop.usecases.scalper_executor import ExecutorStage, client_order_id
from tradeloop.usecases.scalper_exits import ExitBook
from tradeloop.usecases.stream_stage import APPROVED, DROPS, FILLS, ORDERS, Decisions

T0 = 1_767_571_200_000_000_000
S = 1_000_000_000
SCALPER_RISK = {"margin_leverage": 10.0, "notional_cap_usd": 20_000.0, "max_gross_leverage": 10.0,
                "max_position_size": 10.0, "max_portfolio_heat": 10.0, "loss_streak_max": None,
                "daily_loss_limit": None}  # fmt: skip


def md_book(ts: int, bid: float = 60_000.0, ask: float = 60_000.1, size: float = 5.0) -> Message:
    payload = {"kind": "book", "symbol": "BTCUSDT", "ts": ts,
               "bids": [[bid, size]], "asks": [[ask, size]]}  # fmt: skip
    return Message("md", payload, f"b{ts}")


def md_trade(ts: int, price: float, qty: float, buy: bool) -> Message:
    payload = {"kind": "trade", "symbol": "BTCUSDT", "ts": ts, "price": price, "qty": qty,
               "side": "buy" if buy else "sell"}  # fmt: skip
    return Message("md", payload, f"t{ts}")


def approved(n: int, ts: int, side: str = "buy", depth: float = 5.0, score: float = 0.8,
             redelivered: bool = False) -> Message:  # fmt: skip
    payload = {"signal_id": f"sig{n:04d}", "symbol": "BTCUSDT", "ts": ts, "side": side,
               "score": score, "bids": [[60_000.0, depth]], "asks": [[60_000.1, depth]],
               "wall_ns": None}  # fmt: skip
    return Message(APPROVED, payload, f"ap{n}", redelivered)


class Harness:
    def __init__(self, tmp_path: Path, **executor: Any) -> None:
        self.venue = TickPaperVenue(Decimal(10_000))
        self.journal = InMemoryOrderJournal()
        self.orders = OrderManager(self.journal, self.venue, lambda: T0)
        self.gate = RiskGate(RiskConfig(**SCALPER_RISK), KillSwitch(tmp_path / "KILL_SWITCH"))
        self.log = InMemoryDecisionLog()
        self.waiting = 0
        config = ExecutorStageConfig(**executor)
        self.stage = ExecutorStage(
            config, ScalperConfig().instruments, self.orders, self.gate, self.venue,
            Decisions(self.log, "executor", lambda: T0), backlog=lambda: self.waiting,
            tape=self.venue,
        )  # fmt: skip
        self.stage.exits = ExitBook(
            config.exits, self.orders, {"BTCUSDT": 0.1}, self.stage.exit_check,
            entry_ttl_ms=config.exits.entry_ttl_ms,
        )  # fmt: skip

    def run(self, message: Message) -> list[Message]:
        return self.stage.handle(message) + self.stage.commit()

    def warm(self, until: int = T0 + 10 * S) -> None:
        self.run(md_book(T0))
        self.run(md_book(until))


def test_executor_when_warm_then_runbook_size_at_the_touch_post_only(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.warm()
    [order] = h.run(approved(1, T0 + 10 * S))
    assert order.topic == ORDERS
    sent = h.journal.get(client_order_id("sig0001"))
    assert sent is not None
    # floor((min(20000, 10000 x 10) / 60000) / 0.001) x 0.001 = 0.333 (the runbook's example)
    assert sent.order.quantity == Decimal("0.333")
    assert (sent.order.order_type, sent.order.limit_price) == (OrderType.LIMIT, Decimal("60000.0"))
    assert order.payload["state"] == "SUBMITTED"


def test_executor_when_cold_then_warmup_drop_counted_by_symbol(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.run(md_book(T0))
    [dropped] = h.run(approved(1, T0))
    assert dropped.topic == DROPS
    assert dropped.payload["reason"].startswith("WARMUP")
    assert h.stage.warmup_drops["BTCUSDT"] == 1


@pytest.mark.parametrize(
    ("mode", "score", "dropped"),
    [("halt", 0.99, True), ("degrade", 0.60, True), ("degrade", 0.90, False)],
)
def test_executor_when_queue_over_limit_then_backpressure_mode_applies(
    tmp_path: Path, mode: str, score: float, dropped: bool
) -> None:
    h = Harness(tmp_path, backpressure={"max_queue_len": 10, "drop_mode": mode})
    h.warm()
    h.waiting = 11
    [out] = h.run(approved(1, T0 + 10 * S, score=score))
    assert (out.topic == DROPS) is dropped
    assert h.stage.backpressure[mode] == 1


def test_executor_when_thin_opposite_side_then_liquidity_gate_drops(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.warm()
    [out] = h.run(approved(1, T0 + 10 * S, depth=0.4))  # 0.4 < 1.5 x 0.333
    assert out.payload["reason"].startswith("LIQUIDITY_BY_SIDE")


def test_executor_when_signal_old_then_stale_drop(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.warm(T0 + 20 * S)
    [out] = h.run(approved(1, T0 + 10 * S))
    assert out.payload["reason"].startswith("STALE")


def test_executor_when_redelivered_then_never_sent_twice_nor_changed(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.warm()
    [first] = h.run(approved(1, T0 + 10 * S))
    [again] = h.run(approved(1, T0 + 10 * S, redelivered=True))
    assert again.message_id == first.message_id
    assert again.payload["replayed"] is True
    assert len(h.venue.orders) == 1
    # a drop stays a drop, even once the reason is gone
    h.run(md_book(T0 + 11 * S))
    [drop] = h.run(approved(2, T0 + 11 * S, depth=0.1))
    [drop_again] = h.run(approved(2, T0 + 11 * S, depth=50, redelivered=True))
    assert drop_again.message_id == drop.message_id
    assert drop_again.payload["reason"] == drop.payload["reason"]


def test_executor_when_kill_switch_then_risk_gate_refuses(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.warm()
    (tmp_path / "KILL_SWITCH").write_text("halt\n")
    [out] = h.run(approved(1, T0 + 10 * S))
    assert out.payload["reason"].startswith("KILL_SWITCH")
    assert h.venue.orders == {}


def test_executor_when_entry_fills_then_take_profit_and_fill_messages(tmp_path: Path) -> None:
    h = Harness(tmp_path, exits={"take_profit_bps": 5.0})
    h.warm()
    h.run(approved(1, T0 + 10 * S))
    out = h.run(md_trade(T0 + 10 * S + 1, 59_999.9, 1.0, buy=False))  # sells through the bid
    [fill] = [m for m in out if m.topic == FILLS]
    assert fill.payload["price"] == "60000.0"
    [tp] = [o for o in h.journal.orders.values() if o.client_order_id.startswith("tp")]
    # 60,000 + 5 bps = 60,030.0, on the 0.1 tick, on the sell side
    assert (tp.order.side, tp.order.limit_price) == (Side.SELL, Decimal("60030.0"))
    [out2] = h.run(approved(2, T0 + 10 * S + 2))
    assert out2.payload["reason"].startswith("IN_POSITION")


def test_exits_when_stop_or_time_then_take_profit_canceled_and_market_exit(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, exits={"stop_loss_bps": 8.0, "max_hold_ms": 60_000})
    h.warm()
    h.run(approved(1, T0 + 10 * S))
    h.run(md_trade(T0 + 10 * S + 1, 59_999.9, 1.0, buy=False))
    h.run(md_book(T0 + 11 * S, bid=59_940.0, ask=59_940.1))  # 10 bps against the long
    exits = [o for o in h.journal.orders.values() if o.client_order_id.startswith("mx")]
    assert [o.order.side for o in exits] == [Side.SELL]
    assert h.venue.positions() == {}
    tp = next(o for o in h.venue.orders.values() if o.client_order_id.startswith("tp"))
    assert tp.state is OrderState.CANCELED
    assert h.stage.exits is not None
    assert h.stage.exits.stops == 1


def test_exits_when_position_has_no_exit_then_flattened_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.venue.held["BTCUSDT"] = Decimal("0.2")  # filled before a kill, its exit never placed
    h.run(md_book(T0))
    assert h.venue.positions() == {}


def test_paper_venue_when_post_only_would_take_then_canceled(tmp_path: Path) -> None:
    venue = TickPaperVenue(Decimal(10_000))
    venue.on_book("BTCUSDT", T0, Decimal("100"), Decimal("101"))
    order = SubmitOrder("sc1", "BTCUSDT", Side.BUY, Decimal(1), T0, OrderType.LIMIT, Decimal(101))
    venue.send(order)
    assert venue.query("sc1").state is OrderState.CANCELED  # type: ignore[union-attr]
    assert venue.send(order) == "paper-sc1"  # the same id again: no second order
    assert len(venue.orders) == 1


def test_paper_venue_when_trade_prints_through_then_maker_fill_at_limit(tmp_path: Path) -> None:
    venue = TickPaperVenue(Decimal(10_000), fees={"BTCUSDT": (Decimal("0.0002"), Decimal(0))})
    venue.on_book("BTCUSDT", T0, Decimal("100"), Decimal("101"))
    venue.send(SubmitOrder("sc1", "BTCUSDT", Side.BUY, Decimal(2), T0, OrderType.LIMIT,
                           Decimal(100)))  # fmt: skip
    assert venue.on_trade("BTCUSDT", T0 + 1, Decimal(100), Decimal(1), True) == []  # a buy
    [fill] = venue.on_trade("BTCUSDT", T0 + 2, Decimal("99.5"), Decimal(1), False)
    assert isinstance(fill, VenueFill)
    assert (fill.quantity, fill.price, fill.commission) == (1, 100, Decimal("0.0200"))
    assert venue.positions() == {"BTCUSDT": Decimal(1)}
    assert venue.cash == Decimal("9899.98")


def test_paper_venue_when_reduce_only_would_flip_then_rejected(tmp_path: Path) -> None:
    venue = TickPaperVenue(Decimal(10_000))
    venue.held["BTCUSDT"] = Decimal(1)
    with pytest.raises(VenueRejection, match="110017"):
        venue.send(SubmitOrder("x", "BTCUSDT", Side.SELL, Decimal(2), T0))


def test_paper_venue_when_saved_then_restored_identically(tmp_path: Path) -> None:
    venue = TickPaperVenue(Decimal(10_000))
    venue.on_book("BTCUSDT", T0, Decimal("100"), Decimal("101"))
    venue.send(SubmitOrder("a", "BTCUSDT", Side.BUY, Decimal(1), T0, OrderType.LIMIT,
                           Decimal(100)))  # fmt: skip
    venue.on_trade("BTCUSDT", T0 + 1, Decimal(99), Decimal("0.5"), False)
    venue.flush(tmp_path / "paper.json")
    again = TickPaperVenue.load(tmp_path / "paper.json", Decimal(0))
    assert again.state() == venue.state()
    assert dataclasses.asdict(again.orders["a"]) == dataclasses.asdict(venue.orders["a"])


def test_exit_config_when_negative_then_refused() -> None:
    with pytest.raises(ValueError, match="take_profit_bps"):
        ExitsConfig(take_profit_bps=-1)
