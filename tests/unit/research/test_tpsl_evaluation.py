"""TP/SL evaluation with cooldown: entry at the next valid bin, exits by take-profit,
stop-loss, max hold or the end, cooldown after an exit, mid 0 bins skipped; checked by
hand on small series and against a plain-Python oracle on generated ones; metrics by
their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.research.tpsl import END, MAX_HOLD, STOP_LOSS, TAKE_PROFIT, Trades, evaluate, metrics

TICK = 0.25


def _run(mid: list[float], signal: list[int], **kwargs: float) -> Trades:
    params = {"tp_ticks": 4, "sl_ticks": 2, "max_hold_bins": 100, "cooldown_bins": 0, **kwargs}
    return evaluate(np.array(mid), np.array(signal, dtype=np.int8), TICK, **params)  # type: ignore[arg-type]


def test_long_when_price_rises_four_ticks_then_take_profit_from_the_next_bins_mid() -> None:
    trades = _run([100, 100.25, 100.5, 100.75, 101.25, 101.5], [1, 0, 0, 0, 0, 0])
    assert trades.entry.tolist() == [1]  # the bin after the signal
    assert trades.exit.tolist() == [4]  # 101.25 - 100.25 = 4 ticks
    assert trades.reason.tolist() == [TAKE_PROFIT]
    assert trades.pnl_ticks.tolist() == [4.0]


def test_short_when_price_rises_then_stop_loss() -> None:
    trades = _run([100, 100, 100.25, 100.5, 99], [-1, 0, 0, 0, 0])
    assert (trades.exit.tolist(), trades.reason.tolist()) == ([3], [STOP_LOSS])
    assert trades.pnl_ticks.tolist() == [-2.0]


def test_when_nothing_reached_then_max_hold_then_end() -> None:
    held = _run([100, 100, 100.25, 100, 100.25, 100], [1, 0, 0, 0, 0, 0], max_hold_bins=3)
    assert (held.exit.tolist(), held.reason.tolist(), held.pnl_ticks.tolist()) == (
        [4], [MAX_HOLD], [1.0],
    )  # fmt: skip
    ended = _run([100, 100, 100.25, 100], [1, 0, 0, 0])
    assert (ended.exit.tolist(), ended.reason.tolist()) == ([3], [END])


def test_when_bins_have_mid_zero_then_skipped_for_entry_and_exit() -> None:
    trades = _run([100, 0, 0, 100, 0, 101, 101], [1, 0, 0, 0, 0, 0, 0])
    assert trades.entry.tolist() == [3]  # the next valid bin
    assert trades.exit.tolist() == [5]
    signals_on_invalid = _run([100, 0, 100, 101], [0, 1, 0, 0])
    assert signals_on_invalid.entry.size == 0


def test_when_cooldown_then_no_entry_until_it_passed() -> None:
    mid = [100, 100, 101, 101, 101, 101, 102.25, 103]
    signal = [1, 0, 0, 1, 1, 1, 0, 0]
    assert _run(mid, signal, cooldown_bins=0).entry.tolist() == [1, 4]
    # exit at bin 2, cooldown 3: bins 3..5 blocked, no later signal
    assert _run(mid, signal, cooldown_bins=3).entry.tolist() == [1]
    assert _run(mid, signal, cooldown_bins=2).entry.tolist() == [1, 6]  # signal at 5


def _oracle(mid, signal, tp, sl, hold, cooldown):  # type: ignore[no-untyped-def]
    """The docstring's rules, the plain way."""
    trades, i, blocked = [], 0, -1
    n = len(mid)
    while i < n:
        if signal[i] == 0 or i <= blocked or mid[i] <= 0:
            i += 1
            continue
        valid_after = [k for k in range(i + 1, n) if mid[k] > 0]
        if not valid_after:
            break
        entry, d = valid_after[0], signal[i]
        out = None
        for j in [k for k in valid_after if k > entry]:
            move = d * (mid[j] - mid[entry]) / TICK
            if move >= tp or move <= -sl or j - entry >= hold:
                out = (j, move)
                break
        if out is None:
            last = max([entry, *[k for k in valid_after if k > entry]])
            out = (last, d * (mid[last] - mid[entry]) / TICK)
        trades.append((entry, out[0], d, out[1]))
        blocked = out[0] + cooldown
        i = out[0] + 1
    return trades


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.booleans(), st.sampled_from([0, 0, 0, 1, -1])),
             min_size=2, max_size=80),
    st.integers(1, 6), st.integers(1, 6), st.integers(1, 10), st.integers(0, 5),
)  # fmt: skip
def test_evaluation_when_any_series_then_equals_the_oracle(
    steps: list[tuple[int, bool, int]], tp: int, sl: int, hold: int, cooldown: int
) -> None:
    prices = 100 + np.cumsum([s[0] for s in steps]) * TICK
    mid = np.where([s[1] for s in steps], prices, 0.0)
    signal = np.array([s[2] for s in steps], dtype=np.int8)
    got = evaluate(mid, signal, TICK, tp_ticks=tp, sl_ticks=sl, max_hold_bins=hold,
                   cooldown_bins=cooldown)  # fmt: skip
    expected = _oracle(mid, signal, tp, sl, hold, cooldown)
    assert list(zip(got.entry.tolist(), got.exit.tolist(), got.direction.tolist(),
                    got.pnl_ticks.tolist(), strict=True)) == expected  # fmt: skip


def test_metrics_when_trades_then_by_their_definitions() -> None:
    pnl = np.array([4.0, -2.0, -2.0, 6.0])
    trades = Trades(np.arange(4), np.arange(4), np.ones(4, np.int8), np.ones(4, np.int8), pnl)
    got = metrics(trades)
    assert got["trades"] == 4
    assert got["hit_rate"] == 0.5
    assert got["total_pnl_ticks"] == 6.0
    assert got["mean_pnl_ticks"] == 1.5
    assert got["max_drawdown_ticks"] == 4.0  # 4 -> 2 -> 0
    assert got["sharpe"] == pytest.approx(1.5 / np.std(pnl, ddof=1))
    empty = metrics(Trades(*(np.zeros(0),) * 5))
    assert empty["trades"] == 0
    assert empty["sharpe"] == 0.0
