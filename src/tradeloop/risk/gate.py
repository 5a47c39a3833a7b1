"""The risk gate: every order of every mode passes here before the order manager.

``denial(check)`` returns why an order must not go (``CODE: detail``) or None: the first
denial of the rule table in ``risk/rules.py`` (the rules the config switches on, in order).
The codes, each counted in ``counts``:

- ``KILL_SWITCH`` (the file exists, or cannot be checked), ``HALTED`` (trading state
  HALTED: nothing but cancels), ``REDUCING`` (state REDUCING: only orders that shrink a
  position); an operator's close-all order (reason ``close_all``) that only shrinks a
  position passes every rule, the kill switch included: flattening is how risk comes down;
- new risk only (an order that only shrinks a position skips these): ``SYMBOL_NOT_ALLOWED``,
  ``OUTSIDE_TRADING_HOURS``, ``WARMUP``, ``DAILY_CAP`` (the day's loss passed
  ``daily_loss_limit`` or ``daily_loss_cap_usd``: no new risk until the next day),
  ``LOSS_STREAK`` (cooling down after ``loss_streak_max`` losing trades),
  ``MAX_DAILY_TRADES``, ``MIN_TIME_BETWEEN_TRADES``, ``BELOW_VENUE_MINIMUM``,
  ``MIN_FREE_BALANCE``, ``NEAR_LIQUIDATION`` (``near_liquidation_long`` / ``_short``: the
  estimated liquidation price is nearer than ``sl_buffer_multiplier`` x the assumed stop),
  ``MAX_POSITION_SIZE``, ``PORTFOLIO_HEAT``, ``SECTOR_EXPOSURE``, ``CORRELATION``;
- every order: ``MAX_ORDER_NOTIONAL``, ``MAX_POSITION_NOTIONAL``,
  ``INSUFFICIENT_BUYING_POWER``.

Day, trades, loss streak, cooldown and the daily halt live in ``RiskState``; with a store
they are saved on every change, so a restart keeps a tripped daily cap or a cooldown.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from tradeloop.core.atomic_file import write_atomic
from tradeloop.core.errors import DataError
from tradeloop.domain.enums import TradingState
from tradeloop.domain.orders import CLOSE_ALL_REASON, SubmitOrder
from tradeloop.risk.config import RiskConfig, _minutes
from tradeloop.risk.correlation import RollingCorrelation
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.risk.rules import Correlation, RuleInput, active_rules, first_denial

_EPOCH_DAY = date(1970, 1, 1)


@dataclass(slots=True)
class RiskState:
    """What the gate remembers across orders (and, with a store, across restarts)."""

    trading_state: TradingState = TradingState.ACTIVE
    state_reason: str = ""
    day: str = ""
    day_start_equity: float = 0.0
    trades_today: int = 0
    daily_halt: str = ""
    loss_streak: int = 0
    cooldown_until_ns: int = 0
    last_trade_ns: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RiskState:
        body = json.loads(text)
        body["trading_state"] = TradingState(body["trading_state"])
        return cls(**body)


class RiskStateStore(Protocol):
    def load(self) -> RiskState | None: ...

    def save(self, state: RiskState) -> None: ...


class JsonRiskStateStore:
    """The risk state as one JSON file, replaced atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> RiskState | None:
        if not self.path.exists():
            return None
        try:
            return RiskState.from_json(self.path.read_text())
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise DataError(
                f"risk state {self.path} is unreadable ({exc}); it holds the daily-loss halt "
                "and the loss-streak cooldown, so trading will not start without it. Fix: "
                "restore it from a backup, or remove it to start a fresh day deliberately"
            ) from None

    def save(self, state: RiskState) -> None:
        write_atomic(self.path, state.to_json())


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """An order and the account it would change, as the gate sees them."""

    order: SubmitOrder
    price: Decimal  # reference price (the decision bar's close)
    equity: Decimal
    positions: Mapping[str, Decimal]  # signed quantity per symbol
    marks: Mapping[str, Decimal]
    ts: int
    cash: Decimal | None = None  # free balance before the order (None: not checked)


class RiskGate:
    """Pre-trade rules over a remembered state; every denial counted by code."""

    def __init__(
        self,
        config: RiskConfig,
        kill_switch: KillSwitch,
        store: RiskStateStore | None = None,
        correlation: Correlation | None = None,
        opened_ns: int | None = None,
        first_day_config: RiskConfig | None = None,
    ) -> None:
        """``opened_ns``: when a live account opened (went live); on that trading day (in
        ``trading_timezone``) positions are held to ``first_day_position_size``, and every
        limit is ``first_day_config``'s when one is given (the runbook's first-day limits)."""
        self.config = config
        self.kill_switch = kill_switch
        self.store = store
        self.tracker: RollingCorrelation | None = None
        if correlation is None and config.max_correlation is not None:
            self.tracker = RollingCorrelation(config.correlation_window)
            correlation = self.tracker
        self.correlation = correlation
        self.state = (store.load() if store is not None else None) or RiskState()
        self.counts: Counter[str] = Counter()
        self.triggers: Counter[str] = Counter()  # daily_cap, streak_halt
        self.session_start_ns: int | None = None
        self.venue_failures = 0
        self._zone = ZoneInfo(config.trading_timezone)
        self._day_span: tuple[int, int, str] = (0, 0, "")  # [lo, hi) ns of the last day
        self._first_day = None if opened_ns is None else self._local_day(opened_ns)
        self._day_names: tuple[int, str] = (-1 << 62, "")  # the last day number named
        self._rules = active_rules(config)  # the rules this config switches on, in order
        self._hours = _window(config)
        self.first_day_config = first_day_config
        self._first_rules = None if first_day_config is None else active_rules(first_day_config)

    def reconfigure(self, config: RiskConfig, first_day_config: RiskConfig | None) -> None:
        """New limits for the orders from now on (a live account's ramp moved a step)."""
        self.config, self._rules, self._hours = config, active_rules(config), _window(config)
        self.first_day_config = first_day_config
        self._first_rules = None if first_day_config is None else active_rules(first_day_config)

    def day_config(self, day: str) -> RiskConfig:
        """The limits of trading day ``day``: the first-day ones on a live account's first."""
        if self.first_day_config is not None and day == self._first_day:
            return self.first_day_config
        return self.config

    def _local_day(self, ts: int) -> str:
        lo, hi, name = self._day_span
        if lo <= ts < hi:  # most calls fall in the day asked last
            return name
        # whole seconds: a float of the ns count could round the last ns into the next day
        day = datetime.fromtimestamp(ts // 1_000_000_000, UTC).astimezone(self._zone).date()
        start, end = (
            int(datetime.combine(d, time(), tzinfo=self._zone).timestamp()) * 1_000_000_000
            for d in (day, day + timedelta(days=1))
        )
        self._day_span = (start, end, day.isoformat())
        return self._day_span[2]

    def local_day_numbers(self, ts: np.ndarray) -> np.ndarray:
        """The trading day (days since 1970-01-01 in ``trading_timezone``) of every ``ts``,
        in one pass; the day ``on_equity`` rolls on."""
        days = np.empty(ts.size, np.int32)
        step = 1 << 18  # in slices: the conversion's temporaries stay a few MB
        for first in range(0, ts.size, step):
            part = ts[first : first + step] // 1_000_000_000 * 1_000_000_000
            local = pl.Series(part, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
            zoned = local.dt.convert_time_zone(self._zone.key).dt.date().cast(pl.Int32)
            days[first : first + step] = zoned.to_numpy()
        return days

    @property
    def watches_every_bar(self) -> bool:
        """True when a rule looks at bars where nothing trades (the daily loss limits watch
        equity, the correlation limit every close, the breach trim every position value):
        a backtest that skips quiet bars shows them through ``execution.quiet_bars``."""
        config = self.config
        return (
            config.daily_loss_limit is not None
            or config.daily_loss_cap_usd is not None
            or self.tracker is not None
            or self._trims_breaches
        )

    @property
    def _trims_breaches(self) -> bool:
        config = self.config
        return config.max_position_size is not None and config.position_breach_tolerance is not None

    def breach_reduction(
        self, symbol: str, quantity: Decimal, price: Decimal, equity: Decimal
    ) -> Decimal | None:
        """Circuit breaker: when a position has grown (by price moves) past
        ``max_position_size x (1 + position_breach_tolerance)`` of equity, the signed
        quantity that brings it back to ``max_position_size``; None while within."""
        config = self.config
        if not self._trims_breaches or quantity == 0 or price <= 0 or equity <= 0:
            return None
        assert config.max_position_size is not None
        assert config.position_breach_tolerance is not None
        limit = equity * Decimal(repr(config.max_position_size))
        value = abs(quantity) * price
        if value <= limit * (1 + Decimal(repr(config.position_breach_tolerance))):
            return None
        # whole units for whole-unit positions (shares), else 1e-8 (crypto lots)
        step = Decimal(1) if quantity == quantity.to_integral_value() else Decimal("1e-8")
        keep = (limit / price).quantize(step, rounding="ROUND_CEILING")
        if abs(quantity) - keep <= 0:
            return None
        self.counts["position_breach_reduce"] += 1
        return -(abs(quantity) - keep) if quantity > 0 else abs(quantity) - keep

    def observe_close(self, symbol: str, ts: int, close: float) -> None:
        if self.tracker is not None:
            self.tracker.observe(symbol, ts, close)

    def observe_closes(self, symbol: str, ts: np.ndarray, closes: np.ndarray) -> None:
        """``observe_close`` for a run of one symbol's bars (in ts order): only the tail
        the tracker keeps is shown, with the same result."""
        if self.tracker is None:
            return
        keep = self.tracker.memory
        for stamp, close in zip(ts[-keep:].tolist(), closes[-keep:].tolist(), strict=True):
            self.tracker.observe(symbol, stamp, close)

    # -- state ------------------------------------------------------------------------------

    def _save(self) -> None:
        if self.store is not None:
            self.store.save(self.state)

    def set_trading_state(self, state: TradingState, reason: str) -> None:
        self.state.trading_state, self.state.state_reason = state, reason
        self._save()

    def on_equity(self, ts: int, equity: Decimal) -> None:
        """Roll the trading day; trip the daily cap when the day's loss passes a limit."""
        day = self._local_day(ts)
        state = self.state
        if self.session_start_ns is None:
            self.session_start_ns = ts
        if day != state.day:
            state.day, state.day_start_equity = day, float(equity)
            state.trades_today, state.daily_halt = 0, ""
            self._save()
            return
        if state.daily_halt or state.day_start_equity <= 0:
            return
        loss = state.day_start_equity - float(equity)
        config = self.day_config(day)
        limit, cap = config.daily_loss_limit, config.daily_loss_cap_usd
        if limit is not None and loss >= limit * state.day_start_equity:
            state.daily_halt = (
                f"day loss {loss:,.2f} >= {limit:.1%} of {state.day_start_equity:,.2f}"
            )
        elif cap is not None and loss >= cap:
            state.daily_halt = f"day loss {loss:,.2f} >= daily_loss_cap_usd {cap:,.2f}"
        else:
            return
        self.triggers["daily_cap"] += 1
        self._save()

    def on_equity_span(
        self,
        ts: np.ndarray,
        days: np.ndarray,
        equity: np.ndarray,
        exact: Callable[[int], Decimal],
    ) -> None:
        """``on_equity`` for a run of bars in one pass, with the same outcome as calling it
        bar by bar: ``days`` from ``local_day_numbers(ts)``, ``equity`` the float curve,
        ``exact(k)`` the Decimal equity at bar ``k``. The float curve only screens: the day's
        start and every bar within 1e-9 of a limit are decided on the exact value."""
        n = ts.size
        if n == 0:
            return
        if self.session_start_ns is None:
            self.session_start_ns = int(ts[0])
        if days[0] == days[-1]:  # days never decrease: the whole run is one day
            segments: list[tuple[int, int]] = [(0, n)]
        else:
            bounds = [0, *(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist(), n]
            segments = list(itertools.pairwise(bounds))
        for first, end in segments:
            day = self._day_name(int(days[first]))
            if day != self.state.day:
                self.on_equity(int(ts[first]), exact(int(first)))
                first += 1
            state = self.state
            if state.daily_halt or state.day_start_equity <= 0 or first >= end:
                continue
            start = state.day_start_equity
            config = self.day_config(day)
            limit, cap = config.daily_loss_limit, config.daily_loss_cap_usd
            threshold = min(
                limit * start if limit is not None else np.inf, cap if cap is not None else np.inf
            )
            loss = start - equity[first:end]
            near = np.flatnonzero(loss >= threshold - 1e-9 * max(abs(start), threshold))
            for k in near:
                self.on_equity(int(ts[first + k]), exact(int(first + k)))
                if self.state.daily_halt:
                    break

    def _day_name(self, number: int) -> str:
        if self._day_names[0] != number:
            name = date.fromordinal(_EPOCH_DAY.toordinal() + number).isoformat()
            self._day_names = (number, name)
        return self._day_names[1]

    def breach_screen(self, values: np.ndarray, equity: np.ndarray) -> np.ndarray:
        """Bars where ``breach_reduction`` may cut (|position value| past the tolerance),
        screened on floats with a 1e-9 margin so no real breach is missed."""
        config = self.config
        if not self._trims_breaches:
            return np.zeros(values.size, dtype=bool)
        assert config.max_position_size is not None
        assert config.position_breach_tolerance is not None
        bound = equity * config.max_position_size * (1 + config.position_breach_tolerance)
        return (equity > 0) & (values > 0) & (values >= bound * (1 - 1e-9))

    def on_trade_closed(self, pnl: Decimal, ts: int) -> None:
        """Count losing round trips; ``loss_streak_max`` in a row starts a cooldown."""
        state = self.state
        state.loss_streak = state.loss_streak + 1 if pnl < 0 else 0
        limit = self.config.loss_streak_max
        if limit is not None and state.loss_streak >= limit:
            cooldown = int(self.config.session_cooldown_minutes * 60e9)
            state.cooldown_until_ns, state.loss_streak = ts + cooldown, 0
            self.triggers["streak_halt"] += 1
        self._save()

    def rebuild_loss_streak(self, closed: Iterable[tuple[Decimal, int]]) -> None:
        """Set the loss streak and its cooldown from the account's round trips ``(pnl,
        ts_exit)`` in order, as ``on_trade_closed`` would have. They are a function of the
        ledger, and the ledger is the journal's: rebuilt on every start, a kill between a
        fill's commit and this state's save cannot lose a losing trade."""
        streak, until = 0, 0
        limit = self.config.loss_streak_max
        cooldown = int(self.config.session_cooldown_minutes * 60e9)
        for pnl, ts in closed:
            streak = streak + 1 if pnl < 0 else 0
            if limit is not None and streak >= limit:
                until, streak = ts + cooldown, 0
        state = self.state
        if (state.loss_streak, state.cooldown_until_ns) != (streak, until):
            state.loss_streak, state.cooldown_until_ns = streak, until
            self._save()

    def on_venue_result(self, ok: bool, detail: str = "") -> None:
        """Count consecutive venue failures (timeouts, disconnects, 5xx); at
        ``max_venue_failures`` trading goes HALTED until an operator resumes it."""
        if ok:
            self.venue_failures = 0
            return
        self.venue_failures += 1
        limit = self.config.max_venue_failures
        halted = self.state.trading_state is TradingState.HALTED
        if limit is not None and self.venue_failures >= limit and not halted:
            self.triggers["venue_failure_halt"] += 1
            self.set_trading_state(
                TradingState.HALTED,
                f"{self.venue_failures} venue failures in a row ({detail}); "
                "check the venue, then tradeloop resume",
            )

    def on_order_sent(self, check: OrderCheck) -> None:
        if _adds_risk(check):
            self.state.trades_today += 1
            self.state.last_trade_ns[check.order.symbol] = check.ts
            self._save()

    # -- the rules --------------------------------------------------------------------------

    def denial(self, check: OrderCheck) -> str | None:
        reason = self._denial(check)
        if reason is not None:
            self.counts[reason.partition(":")[0]] += 1
        return reason

    def _denial(self, check: OrderCheck) -> str | None:
        adds = _adds_risk(check)
        if check.order.reason == CLOSE_ALL_REASON and not adds:
            # The operator's way out of a position: it closes exactly what is held, so
            # neither the kill switch nor a size limit may keep the account in it.
            return None
        first_day = self._first_day is not None and self._local_day(check.ts) == self._first_day
        config, rules, hours = self.config, self._rules, self._hours
        if first_day and self.first_day_config is not None and self._first_rules is not None:
            config, rules = self.first_day_config, self._first_rules
            hours = _window(config)
        rule_input = RuleInput(
            check=check,
            state=self.state,
            config=config,
            kill_switch=self.kill_switch,
            hours=hours,
            zone=self._zone,
            session_start_ns=self.session_start_ns,
            first_day=first_day,
            correlation=self.correlation,
        )
        reason = first_denial(rules, rule_input, adds)
        if reason is not None:
            code = reason.partition(":")[0]
            if code == "WARMUP":
                self.triggers[f"warmup_drop:{check.order.symbol}"] += 1
            elif code == "NEAR_LIQUIDATION":
                self.triggers[reason.split(":")[1].strip()] += 1  # near_liquidation_long|short
        return reason


def _window(config: RiskConfig) -> tuple[int, int] | None:
    hours = config.trading_hours
    return None if hours is None else (_minutes(hours[0]), _minutes(hours[1]))


def _adds_risk(check: OrderCheck) -> bool:
    """False only for an order that shrinks a position without flipping it."""
    held = check.positions.get(check.order.symbol, Decimal(0))
    after = held + check.order.signed_quantity
    return not (held != 0 and abs(after) < abs(held) and (after == 0 or (after > 0) == (held > 0)))
