"""The desk's equity curve equals a plain replay of the fills marked at each session's
close (two symbols, a session where one does not trade, fills between closes, commissions),
and its drawdown is the fall from the running peak."""

from __future__ import annotations

from fractions import Fraction

import polars as pl
import pytest

from tradeloop.usecases.desk_view import equity_curve

DAY = 86_400 * 10**9


def test_equity_curve_when_fills_and_closes_given_then_equal_to_a_plain_replay() -> None:
    fills = pl.DataFrame({
        "fill_id": ["1", "2", "3", "4"], "symbol": ["A", "B", "A", "B"],
        "side": ["BUY", "BUY", "SELL", "SELL"], "quantity": [10.0, 5.0, 4.0, 5.0],
        "price": [100.0, 50.0, 110.0, 45.0], "commission": [1.0, 0.5, 1.0, 0.5],
        "ts_event": [1 * DAY, 2 * DAY, 3 * DAY, 5 * DAY], "reason": [""] * 4,
    })  # fmt: skip
    closes = pl.DataFrame({
        "symbol": ["A"] * 5 + ["B"] * 4,
        "ts": [1 * DAY, 2 * DAY, 3 * DAY, 4 * DAY, 5 * DAY, 2 * DAY, 3 * DAY, 4 * DAY, 5 * DAY],
        "close": [101.0, 104.0, 108.0, 107.0, 112.0, 51.0, 49.0, 47.0, 46.0],
    })  # fmt: skip
    curve = equity_curve(fills, closes, 10_000.0)
    expected = []
    for day in range(1, 6):
        cash, held, marks = Fraction(10_000), {"A": Fraction(0), "B": Fraction(0)}, {}
        for row in fills.iter_rows(named=True):
            if row["ts_event"] <= day * DAY:
                sign = 1 if row["side"] == "BUY" else -1
                held[row["symbol"]] += sign * Fraction(row["quantity"])
                cash -= sign * Fraction(row["quantity"]) * Fraction(row["price"]) + Fraction(
                    row["commission"]
                )
        for row in closes.iter_rows(named=True):
            if row["ts"] <= day * DAY:
                marks[row["symbol"]] = Fraction(row["close"])
        expected.append(float(cash + sum(q * marks.get(s, 0) for s, q in held.items())))
    assert curve["ts"].to_list() == [d * DAY for d in range(1, 6)]
    assert curve["equity"].to_list() == pytest.approx(expected, rel=1e-12)
    peaks = [max(expected[: i + 1]) for i in range(5)]
    assert curve["drawdown"].to_list() == pytest.approx(
        [e / p - 1 for e, p in zip(expected, peaks, strict=True)]
    )


def test_equity_curve_when_no_fills_then_empty() -> None:
    names = ("fill_id", "symbol", "side", "quantity", "price", "commission", "ts_event", "reason")
    kinds = (
        pl.String,
        pl.String,
        pl.String,
        pl.Float64,
        pl.Float64,
        pl.Float64,
        pl.Int64,
        pl.String,
    )
    empty = pl.DataFrame(schema=dict(zip(names, kinds, strict=True)))
    assert equity_curve(
        empty, pl.DataFrame({"symbol": ["A"], "ts": [DAY], "close": [1.0]}), 1.0
    ).is_empty()
