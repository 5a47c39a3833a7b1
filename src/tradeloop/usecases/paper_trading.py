"""Paper trading: the one order path on a simulated venue whose account survives restarts.

An account lives in ``var/paper/<name>/``: ``account.json`` (starting cash, created at),
``risk_state.json`` (the risk gate's day, daily-loss halt, loss streak and cooldown),
``exchange.json`` (the simulated venue: orders, fills, positions, written atomically after
every change) and ``cursor.json`` (the last bar whose decisions are complete). Orders and
fills are journaled in the database (``orders``, ``fills`` with run id ``paper-<name>``),
positions and closed trades projected into ``positions`` and ``trades``.

On every start, before a single order: the ledger is rebuilt from the journal's fills,
in-flight orders are settled with the venue, and ``reconcile`` adopts what can be proven
(missing fills, order states; each an ``audit_event``) or refuses to trade, saying why.
Bars up to the cursor are shown to the strategy only to rebuild its state; the venue
ignores bars it has matched. Every write is ordered so that a ``kill -9`` anywhere leaves
a state the next start settles: journal before send, venue state before it is reported,
cursor after the bar's decisions (a replayed decision has the same client order id, so it
is found in the journal and never sent twice).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from tradeloop.core.atomic_file import write_atomic
from tradeloop.core.clock import SimClock
from tradeloop.core.errors import ConfigError, DataError, TradingRefused
from tradeloop.domain.order_lifecycle import TERMINAL, OrderState
from tradeloop.domain.orders import OrderFilled
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import TradingEngine, exchange_model
from tradeloop.execution.exchange_state import load_exchange
from tradeloop.execution.kernel import Cursor, StepListener, TradingKernel
from tradeloop.execution.order_manager import OrderJournal
from tradeloop.execution.persisted_exchange import PersistedExchange
from tradeloop.execution.portfolio import ClosedTrade, Portfolio
from tradeloop.execution.reconcile import Reconciliation, reconcile
from tradeloop.execution.session import StepResult, TradingSession
from tradeloop.execution.strategy import Strategy
from tradeloop.execution.venue import Exchange, to_decimal
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.gate import JsonRiskStateStore, RiskGate
from tradeloop.risk.kill_switch import KillSwitch

ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class LiveVenue(Exchange, Protocol):
    """A real venue: an Exchange that also reports the account's positions and value."""

    def positions(self) -> dict[str, Decimal]: ...

    def balance(self) -> Decimal:
        """The account's equity at the venue (USD)."""
        ...


@dataclass(frozen=True, slots=True)
class PaperAccount:
    """Where one paper account's files live."""

    name: str
    root: Path

    @classmethod
    def under(cls, paper_dir: Path, name: str, live: bool = False) -> PaperAccount:
        if not ACCOUNT_NAME.match(name):
            raise ConfigError(
                f"--account {name!r}: use 1-40 letters, digits, '-' or '_' (it names a folder)"
            )
        return cls(name, paper_dir / name, live)

    live: bool = False  # a live account: journal run id live-<name>

    @property
    def run_id(self) -> str:
        return f"{'live' if self.live else 'paper'}-{self.name}"

    @property
    def exchange_path(self) -> Path:
        return self.root / "exchange.json"

    @property
    def cursor_path(self) -> Path:
        return self.root / "cursor.json"

    @property
    def risk_state_path(self) -> Path:
        return self.root / "risk_state.json"

    @property
    def meta_path(self) -> Path:
        return self.root / "account.json"

    def opening_cash(self, requested: float | None, now_ns: int) -> Decimal:
        """The account's starting cash: written on the first start, then fixed (a restart
        with another --capital would silently change every past PnL). ``None``: whatever
        the account was opened with."""
        if not self.meta_path.exists():
            if requested is None:
                raise DataError(f"account {self.name!r} has no {self.meta_path.name} yet")
            write_atomic(
                self.meta_path,
                json.dumps(
                    {"name": self.name, "initial_cash": repr(requested), "created_ns": now_ns}
                ),
            )
            return to_decimal(requested)
        try:
            stored = Decimal(json.loads(self.meta_path.read_text())["initial_cash"])
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"paper account file {self.meta_path} is unreadable ({exc})") from None
        if requested is not None and stored != to_decimal(requested):
            raise ConfigError(
                f"paper account {self.name!r} was opened with {stored} starting cash, not "
                f"{requested}; drop --capital, or open a new account with --account NAME"
            )
        return stored

    def opened_ns(self) -> int | None:
        """When the account was first opened (None before that, or in an old account file)."""
        try:
            created = json.loads(self.meta_path.read_text()).get("created_ns")
        except (OSError, ValueError):
            return None
        return int(created) if created is not None else None

    def read_cursor(self) -> Cursor | None:
        if not self.cursor_path.exists():
            return None
        try:
            body = json.loads(self.cursor_path.read_text())
            return int(body["ts"]), str(body["symbol"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"paper cursor {self.cursor_path} is unreadable ({exc}); move it away to "
                "re-decide bars from the account's start (decided orders are never re-sent)"
            ) from None

    def write_cursor(self, cursor: Cursor) -> None:
        write_atomic(self.cursor_path, json.dumps({"ts": cursor[0], "symbol": cursor[1]}))


class AccountJournal(OrderJournal, Protocol):
    """The account's order journal, with what a restart reads back."""

    def fills(self) -> list[OrderFilled]: ...

    def order_states(self) -> dict[str, tuple[OrderState, Decimal]]: ...


@dataclass(frozen=True, slots=True)
class AccountRules:
    """What an account trades under: the execution model, the risk limits, the kill switch."""

    execution: ExecutionConfig
    risk: RiskConfig
    kill_switch: KillSwitch
    # a live account: when it went live, and its first day's limits (mode promote --to live)
    live_since_ns: int | None = None
    first_day_risk: RiskConfig | None = None


class AccountWrites(Protocol):
    """An account's ledger projections and audit trail."""

    def write_ledger(
        self, run_id: str, portfolio: Portfolio, closed: Sequence[ClosedTrade], ts: int
    ) -> None: ...

    def audit(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None: ...


class PaperStores(AccountWrites, Protocol):
    """Where a paper or live account's orders, ledger projections and audit trail go
    (``store.sql.paper_stores.SqlPaperStores``). Each write is its own transaction; the
    order journal keeps its own on purpose (journal before send), and ``unit_of_work``
    groups writes that must land together."""

    def order_journal(self, run_id: str, mode: str) -> AccountJournal: ...

    def unit_of_work(self) -> AbstractContextManager[AccountWrites]: ...


@dataclass(frozen=True, slots=True)
class PaperStart:
    """An opened account: the session to step, where decisions stopped, what start did."""

    session: TradingSession
    journal: AccountJournal
    cursor: Cursor | None
    reconciliation: Reconciliation
    settled: int


def open_account(
    account: PaperAccount,
    *,
    stores: PaperStores,
    strategy: Strategy,
    rules: AccountRules,
    now_ns: int,
    actor: str,
    live: LiveVenue | None = None,
) -> PaperStart:
    """Load the account, rebuild its ledger, settle and reconcile with its venue; raise
    TradingRefused (after auditing why) when it must not trade. With ``live``, the venue
    is that real venue (its positions are the truth) instead of the persisted simulation,
    and a new account starts with the broker's equity, not a declared capital."""
    if live is None:
        cash = account.opening_cash(rules.execution.initial_cash_usd, now_ns)
    elif account.meta_path.exists():
        cash = account.opening_cash(None, now_ns)
    else:
        cash = account.opening_cash(float(_broker_equity(live, account)), now_ns)
    cursor = account.read_cursor()
    journal = stores.order_journal(account.run_id, "live" if live is not None else "paper")
    fills = journal.fills()
    clock = SimClock(max([cursor[0] if cursor else 0, *(f.ts_event for f in fills)]))
    portfolio = Portfolio.replayed(cash, fills)
    venue, venue_positions = _account_venue(account, rules, clock, portfolio, live)
    engine = TradingEngine(
        venue=venue,
        portfolio=portfolio,
        risk=rules.risk,
        kill_switch=rules.kill_switch,
        journal=journal,
        clock=clock,
        # The daily-loss halt and the loss-streak cooldown survive a restart.
        # A live account's first trading day holds positions to first_day_position_size.
        gate=RiskGate(
            rules.risk,
            rules.kill_switch,
            JsonRiskStateStore(account.risk_state_path),
            opened_ns=_went_live(account, rules) if live is not None else None,
            first_day_config=rules.first_day_risk if live is not None else None,
        ),
    )
    # The loss streak lives in the risk state file, the trades in the journal: a kill
    # between the two writes must not lose a losing trade (and so a cooldown).
    engine.gate.rebuild_loss_streak((t.pnl, t.ts_exit) for t in portfolio.closed_trades)
    settled = engine.orders.settle()
    states = journal.order_states()
    suspects = [
        cid for cid, (state, filled) in states.items() if _may_differ(venue, cid, state, filled)
    ]
    outcome = reconcile(
        engine.orders,
        venue,
        suspects,
        lambda: {s: p.quantity for s, p in portfolio.positions.items() if p.quantity},
        {s: q for s, q in venue_positions().items() if q},
        journaled=states.keys(),
    )
    _record_start(stores, account, outcome, portfolio, clock.now_ns(), actor)
    session = TradingSession(engine, strategy, account.run_id)
    return PaperStart(session, journal, cursor, outcome, len(settled))


def _went_live(account: PaperAccount, rules: AccountRules) -> int | None:
    return rules.live_since_ns if rules.live_since_ns is not None else account.opened_ns()


def _account_venue(
    account: PaperAccount,
    rules: AccountRules,
    clock: SimClock,
    portfolio: Portfolio,
    live: LiveVenue | None,
) -> tuple[Exchange, Callable[[], dict[str, Decimal]]]:
    """The account's venue and where its positions are read: the live venue itself, or
    the simulated exchange persisted in the account's folder."""
    if live is not None:
        return live, live.positions
    exchange = load_exchange(
        account.exchange_path,
        exchange_model(rules.execution, rules.risk),
        clock.now_ns,
        id_prefix=account.run_id,
        cash=lambda: portfolio.cash,
    )
    return PersistedExchange(exchange, account.exchange_path), lambda: dict(exchange.positions)


def _record_start(
    stores: PaperStores,
    account: PaperAccount,
    outcome: Reconciliation,
    portfolio: Portfolio,
    now_ns: int,
    actor: str,
) -> None:
    """What start decided lands together (one unit of work): every correction's audit
    event with the refusal, or with the ledger rebuilt on the corrected fills. Then a
    refusal is raised."""
    with stores.unit_of_work() as unit:
        for correction in outcome.corrections:
            unit.audit("paper_reconcile", account.run_id, {"correction": correction}, actor)
        if not outcome.safe:
            unit.audit("paper_refused", account.run_id, {"refusals": outcome.refusals}, actor)
        else:
            unit.write_ledger(account.run_id, portfolio, portfolio.closed_trades, now_ns)
    if not outcome.safe:
        raise TradingRefused(
            f"paper account {account.name!r} will not trade until this is resolved:\n  "
            + "\n  ".join(outcome.refusals)
        )


def _broker_equity(live: LiveVenue, account: PaperAccount) -> Decimal:
    equity = live.balance()
    if equity <= 0:
        raise TradingRefused(
            f"live account {account.name!r}: the venue reports equity {equity}; fund the "
            "account (or check the credentials point at the right one) before trading"
        )
    return equity


def _may_differ(venue: Exchange, client_id: str, state: object, filled: Decimal) -> bool:
    if state not in TERMINAL:
        return True
    status = venue.query(client_id)
    return status is not None and (status.state != state or status.filled_quantity != filled)


class AccountRecorder:
    """A paper or live account's listener on the kernel: after each step, the ledger
    projections when something filled, then the cursor (so a restart resumes after it)."""

    def __init__(self, account: PaperAccount, stores: PaperStores, portfolio: Portfolio) -> None:
        self.account, self.stores, self.portfolio = account, stores, portfolio
        self.closed_seen = len(portfolio.closed_trades)

    def __call__(self, bar: BarView, step: StepResult) -> None:
        if step.fills:
            closed = self.portfolio.closed_trades
            self.stores.write_ledger(
                self.account.run_id, self.portfolio, closed[self.closed_seen :], bar.ts
            )
            self.closed_seen = len(closed)
        self.account.write_cursor((bar.ts, bar.symbol))


def account_kernel(
    start: PaperStart,
    account: PaperAccount,
    stores: PaperStores,
    listeners: Sequence[StepListener] = (),
) -> TradingKernel:
    """The kernel that trades an opened account from its cursor: every step recorded in
    the account, then told to ``listeners``."""

    def anchor(cursor: Cursor) -> None:
        if not account.cursor_path.exists():
            account.write_cursor(cursor)  # a new live account starts here, also after a restart

    if start.cursor is not None:
        anchor(start.cursor)
    recorder = AccountRecorder(account, stores, start.session.engine.portfolio)
    return TradingKernel(
        start.session, cursor=start.cursor, listeners=[recorder, *listeners], anchor=anchor
    )


def trade_bars(
    start: PaperStart,
    account: PaperAccount,
    bars: Iterable[BarView],
    *,
    stores: PaperStores,
    on_step: StepListener | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Cursor | None:
    """Step every bar after the cursor through a fresh kernel (bars at or before it
    rebuild strategy state); persist the ledger projections and the cursor after each.
    Returns the new cursor."""
    listeners = [on_step] if on_step is not None else []
    return account_kernel(start, account, stores, listeners).advance(bars, should_stop)
