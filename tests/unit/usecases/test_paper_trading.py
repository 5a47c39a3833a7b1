"""Paper accounts: what a restart finds, settles, reconciles or refuses."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tradeloop.core.errors import ConfigError, TradingRefused
from tradeloop.domain.enums import Side
from tradeloop.domain.money import quantize_money
from tradeloop.domain.order_lifecycle import ManagedOrder, OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.session import bar_views
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.order_journal import SqlOrderJournal
from tradeloop.store.sql.paper_stores import SqlPaperStores
from tradeloop.store.sql.tables import audit_event, positions, trades
from tradeloop.testing.orders import UNLIMITED_RISK
from tradeloop.testing.stubs import stub_bars
from tradeloop.usecases.paper_trading import (
    AccountRules,
    PaperAccount,
    PaperStart,
    open_account,
    trade_bars,
)
from tradeloop.usecases.strategy_plans import sma_cross_plan

EXECUTION = ExecutionConfig(initial_cash_usd=100_000, commission_rate=0.001)
DAY = 86_400_000_000_000


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'paper.db'}")
    upgrade(engine)
    return engine


def _open(db: Engine, account: PaperAccount, tmp_path: Path, **kw: object) -> PaperStart:
    plan = sma_cross_plan({"fast": 2, "slow": 5}, 1)
    return open_account(
        account,
        stores=SqlPaperStores(db),
        strategy=plan.strategy,
        rules=AccountRules(
            kw.get("execution", EXECUTION),  # type: ignore[arg-type]
            kw.get("risk", UNLIMITED_RISK),  # type: ignore[arg-type]
            KillSwitch(tmp_path / "KILL_SWITCH"),
        ),
        now_ns=0,
        actor="test",
    )


def _bars(n: int = 80):  # type: ignore[no-untyped-def]
    plan = sma_cross_plan({"fast": 2, "slow": 5}, 1)
    return bar_views(plan.prepare(stub_bars("TEST", n, seed=4)), plan.columns)


def test_paper_account_when_restarted_then_ledger_and_cursor_continue(
    tmp_path: Path, db: Engine
) -> None:
    account = PaperAccount.under(tmp_path / "paper", "acct")
    first = _open(db, account, tmp_path)
    bars = list(_bars())
    cursor = trade_bars(first, account, bars[:50], stores=SqlPaperStores(db))
    assert cursor == (bars[49].ts, "TEST")
    before = first.session.engine.portfolio
    assert before.closed_trades, "the SMA cross should have traded"

    again = _open(db, account, tmp_path)  # a new process: everything from disk
    after = again.session.engine.portfolio
    assert again.cursor == cursor
    assert after.cash == before.cash
    assert after.quantity("TEST") == before.quantity("TEST")
    assert len(after.closed_trades) == len(before.closed_trades)
    with db.connect() as connection:
        stored_trades = connection.execute(
            select(trades).where(trades.c.run_id == "paper-acct")
        ).all()
        stored_position = connection.execute(select(positions.c.quantity)).scalar_one()
    assert len(stored_trades) == len(before.closed_trades)
    assert Decimal(str(stored_position)) == before.quantity("TEST")

    # Bars up to the cursor only rebuild strategy state: no order is decided twice.
    orders_before = len(SqlOrderJournal(db, "paper-acct", "paper").order_states())
    trade_bars(again, account, bars[:50], stores=SqlPaperStores(db))
    assert len(SqlOrderJournal(db, "paper-acct", "paper").order_states()) == orders_before


def test_restart_when_order_journaled_but_never_sent_then_sent_once_and_fills_next_bar(
    tmp_path: Path, db: Engine
) -> None:
    account = PaperAccount.under(tmp_path / "paper", "acct")
    bars = list(_bars(10))
    opened = _open(db, account, tmp_path)
    trade_bars(opened, account, bars[:3], stores=SqlPaperStores(db))
    # A crash after the journal wrote the order and before the venue got it.
    decided = bars[3]
    journal = SqlOrderJournal(db, account.run_id, "paper")
    journal.insert_order(
        ManagedOrder(
            SubmitOrder("crash-1", "TEST", Side.BUY, Decimal(5), ts_init=decided.ts),
            OrderState.PENDING,
        )
    )

    restarted = _open(db, account, tmp_path)
    assert restarted.settled == 1
    assert journal.get("crash-1").state is OrderState.ACCEPTED  # type: ignore[union-attr]
    # The bar it was decided on comes again (the cursor is before it): no fill there.
    trade_bars(restarted, account, [decided, bars[4]], stores=SqlPaperStores(db))
    fills = [f for f in journal.fills() if f.client_order_id == "crash-1"]
    expected = quantize_money(Decimal(repr(bars[4].open)))
    assert [(f.ts_event, f.price) for f in fills] == [(bars[4].ts, expected)]
    venue = json.loads(account.exchange_path.read_text())
    assert [o["client_order_id"] for o in venue["orders"]].count("crash-1") == 1


def test_open_when_venue_has_an_order_the_journal_never_wrote_then_refused_and_audited(
    tmp_path: Path, db: Engine
) -> None:
    account = PaperAccount.under(tmp_path / "paper", "acct")
    opened = _open(db, account, tmp_path)
    venue = opened.session.engine.venue
    venue.send(SubmitOrder("foreign", "TEST", Side.SELL, Decimal(3), ts_init=0))

    with pytest.raises(TradingRefused, match=r"foreign.*never wrote"):
        _open(db, account, tmp_path)
    with db.connect() as connection:
        kinds = connection.execute(select(audit_event.c.kind)).scalars().all()
    assert "paper_refused" in kinds


def test_open_when_capital_differs_from_the_account_then_refused(
    tmp_path: Path, db: Engine
) -> None:
    account = PaperAccount.under(tmp_path / "paper", "acct")
    _open(db, account, tmp_path)
    with pytest.raises(ConfigError, match="opened with 100000"):
        _open(
            db, account, tmp_path, execution=EXECUTION.model_copy(update={"initial_cash_usd": 5.0})
        )


def test_account_name_when_it_is_a_path_then_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--account"):
        PaperAccount.under(tmp_path, "../elsewhere")


def test_restart_when_the_risk_state_missed_a_losing_trade_then_streak_rebuilt_from_the_ledger(
    tmp_path: Path, db: Engine
) -> None:
    """A kill between a fill's journal commit and the risk state's save loses the losing
    trade it closed from the state file; the next start counts it again from the ledger,
    so the cooldown an uninterrupted account would be in is not skipped."""
    risk = UNLIMITED_RISK.model_copy(
        update={"loss_streak_max": 1, "session_cooldown_minutes": 10_000.0}
    )
    account = PaperAccount.under(tmp_path / "paper", "acct")
    first = _open(db, account, tmp_path, risk=risk)
    trade_bars(first, account, list(_bars())[:50], stores=SqlPaperStores(db))
    closed = first.session.engine.portfolio.closed_trades
    losses = [t for t in closed if t.pnl < 0]
    assert losses, "the stub data should lose on some round trip"
    live = first.session.engine.gate.state
    assert live.cooldown_until_ns == losses[-1].ts_exit + int(10_000 * 60e9)

    # The state file as if the process died before saving the last losing trade.
    stale = dataclasses.replace(live, loss_streak=0, cooldown_until_ns=0)
    account.risk_state_path.write_text(stale.to_json())
    again = _open(db, account, tmp_path, risk=risk)
    rebuilt = again.session.engine.gate.state
    assert (rebuilt.loss_streak, rebuilt.cooldown_until_ns) == (
        live.loss_streak,
        live.cooldown_until_ns,
    )
    assert json.loads(account.risk_state_path.read_text())["cooldown_until_ns"] == (
        live.cooldown_until_ns
    )
