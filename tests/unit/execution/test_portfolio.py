"""The ledger adds up exactly, whatever sequence of fills it books."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tradeloop.domain.enums import Side
from tradeloop.execution.portfolio import Portfolio
from tradeloop.testing import stub_fill

FILLS = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 50),
        st.decimals("1", "500", places=2),
        st.decimals("0", "5", places=2),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(fills=FILLS, mark=st.decimals("1", "500", places=2))
@example(  # a partial close at a repeating-decimal average price once broke exactness
    fills=[
        (Side.BUY, 14, Decimal("1.00"), Decimal(0)),
        (Side.SELL, 1, Decimal("1.00"), Decimal(0)),
        (Side.SELL, 34, Decimal("1.00"), Decimal(0)),
        (Side.SELL, 6, Decimal("1.01"), Decimal(0)),
        (Side.BUY, 27, Decimal("1.00"), Decimal(0)),
    ],
    mark=Decimal("1.00"),
)
@example(
    fills=[
        (Side.BUY, 3, Decimal("1.00"), Decimal(0)),
        (Side.BUY, 4, Decimal("2.00"), Decimal(0)),
        (Side.SELL, 2, Decimal("3.00"), Decimal(0)),
        (Side.SELL, 5, Decimal("1.00"), Decimal(0)),
    ],
    mark=Decimal("1.00"),
)
@example(  # partial covers of a short whose cost does not divide: 72.14 / 72 per unit
    fills=[
        (Side.BUY, 1, Decimal("1.00"), Decimal("0.00")),
        (Side.SELL, 1, Decimal("1.00"), Decimal("0.00")),
        (Side.SELL, 14, Decimal("1.01"), Decimal("0.00")),
        (Side.SELL, 17, Decimal("1.00"), Decimal("0.00")),
        (Side.SELL, 41, Decimal("1.00"), Decimal("0.00")),
        (Side.BUY, 1, Decimal("1.00"), Decimal("0.00")),
        (Side.BUY, 31, Decimal("1.00"), Decimal("0.00")),
        (Side.BUY, 40, Decimal("1.00"), Decimal("0.00")),
    ],
    mark=Decimal("1.00"),
)
def test_equity_when_any_fills_then_cash_flows_and_pnl_reconcile(fills, mark) -> None:  # type: ignore[no-untyped-def]
    start = Decimal("100000")
    portfolio = Portfolio(cash=start)
    flows = Decimal(0)
    for n, (side, qty, price, fee) in enumerate(fills):
        fill = stub_fill(side, str(qty), str(price), str(fee), ts_event=n, client_order_id=f"o{n}")
        portfolio.apply(fill)
        flows -= fill.signed_quantity * fill.price + fill.commission
    assert portfolio.cash == start + flows
    assert portfolio.commissions == sum((Decimal(str(f[3])) for f in fills), Decimal(0))
    position = portfolio.quantity("TEST")
    assert position == sum(q if s is Side.BUY else -q for s, q, _, _ in fills)
    assert portfolio.equity({"TEST": mark}) == portfolio.cash + position * mark
    if position == 0:
        realized = sum((t.pnl for t in portfolio.closed_trades), Decimal(0))
        assert portfolio.cash - start == realized


def test_apply_when_round_trip_then_one_closed_trade_with_net_pnl() -> None:
    portfolio = Portfolio(cash=Decimal(1000))
    portfolio.apply(stub_fill(Side.BUY, "10", "10", "1", ts_event=1))
    portfolio.apply(stub_fill(Side.SELL, "10", "12", "1", ts_event=2, client_order_id="o-2"))
    (trade,) = portfolio.closed_trades
    assert (trade.ts_entry, trade.ts_exit, trade.pnl) == (1, 2, Decimal(18))
    assert portfolio.cash == Decimal(1018)


def test_unrealized_pnl_when_marked_then_value_minus_cost_and_adds_up_to_equity() -> None:
    from tradeloop.domain.enums import Side
    from tradeloop.domain.orders import OrderFilled

    portfolio = Portfolio(cash=Decimal(1000))
    portfolio.apply(OrderFilled("a", "X", Side.BUY, Decimal(3), Decimal(10), Decimal("0.5"), 1))
    portfolio.apply(OrderFilled("b", "Y", Side.SELL, Decimal(2), Decimal(50), Decimal(0), 1))
    marks = {"X": Decimal(12), "Y": Decimal(45)}
    assert portfolio.unrealized_pnl(marks) == {"X": Decimal(6), "Y": Decimal(10)}
    cost = Decimal(30) + Decimal(-100)
    assert portfolio.equity(marks) == portfolio.cash + cost + sum(
        portfolio.unrealized_pnl(marks).values()
    )
