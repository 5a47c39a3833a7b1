"""The daemon's rolling trading metrics, computed by hand on a scripted session."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tradeloop.domain.enums import Side
from tradeloop.domain.orders import OrderFilled, SubmitOrder
from tradeloop.monitor.trading_metrics import TradingTracker


def _order(cid: str, side: Side = Side.BUY) -> SubmitOrder:
    return SubmitOrder(cid, "S", side, Decimal(1), ts_init=0)


def _fill(cid: str, side: Side, price: str) -> OrderFilled:
    return OrderFilled(cid, "S", side, Decimal(1), Decimal(price), Decimal(0), 0)


def test_tracker_rolling_figures(tmp_path: Path) -> None:
    now = [0.0]
    tracker = TradingTracker("live", window=4, clock=lambda: now[0])
    tracker.on_sent(_order("a"), Decimal(0))  # opens
    tracker.on_sent(_order("b", Side.SELL), Decimal(1))  # closes: not "opened"
    tracker.on_tick({}, "ACTIVE")
    tracker.on_sent(_order("c"), Decimal(0))  # this tick: not judged for fill rate yet
    tracker.on_fill(_fill("a", Side.BUY, "100"))
    tracker.on_fill(_fill("b", Side.SELL, "100"))
    now[0] = 0.2
    tracker.on_tick({"S": Decimal("100.5")}, "ACTIVE")  # 100 ms markouts: +50 and -50 bps
    assert tracker.markout(100) == pytest.approx(0.0)
    assert tracker.markout(500) is None
    now[0] = 1.5
    tracker.on_tick({"S": Decimal("101")}, "REDUCING")  # 500 ms and 1 s: +100 / -100 bps
    assert tracker.markout(1000) == pytest.approx(0.0)
    assert tracker.fill_rate == pytest.approx(2 / 3)  # a, b filled; c not
    for pnl in ("5", "-1", "2", "-3", "4"):  # window 4: the last four
        tracker.on_closed(Decimal(pnl))
    assert tracker.winrate == pytest.approx(0.5)
    assert tracker.opened == 2
    now[0] = 3700.0
    tracker.on_sent(_order("d"), Decimal(0))
    tracker.on_tick({}, "REDUCING")
    assert len(tracker.opened_at) == 1  # the first two are more than an hour old
    tracker.write(tmp_path / "d.prom", "acct", {"cycles": 7, "safe_mode": True})
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families((tmp_path / "d.prom").read_text())
        for s in f.samples
    }
    key = (("account", "acct"), ("route", "live"))
    assert samples[("trades_opened_total", key)] == 3
    assert samples[("trades_per_hour", key)] == 1
    assert samples[("winrate_rolling", key)] == 0.5
    switch = (("account", "acct"), ("from", "ACTIVE"), ("to", "REDUCING"))
    assert samples[("mode_switch_total", switch)] == 1
    assert samples[("tradeloop_daemon_cycles_total", (("account", "acct"),))] == 7
    assert samples[("tradeloop_daemon_safe_mode", (("account", "acct"),))] == 1
