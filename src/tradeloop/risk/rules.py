"""The pre-trade risk rules as data: an ordered table of small functions.

Each rule reads one ``RuleInput`` (the order, the account it would change, the gate's
remembered state and the config) and returns why the order must not go
(``"CODE: detail"``) or None. The gate evaluates, in order, the rules the config switches
on (``active_rules``) and stops at the first denial. Adding a rule is one function here,
one row in ``RULES``, one config field and one test.

Rules marked ``new_risk`` apply only to orders that add risk; an order that only shrinks a
position skips them (the kill switch, HALTED and the notional limits apply to every order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tradeloop.domain.enums import Side
from tradeloop.domain.margin import liquidation_price
from tradeloop.domain.orders import SubmitOrder
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.kill_switch import KillSwitch

if TYPE_CHECKING:
    from tradeloop.risk.gate import OrderCheck, RiskState

Correlation = Callable[[str, str, int], float | None]


@dataclass(frozen=True, slots=True)
class RuleInput:
    """Everything a rule may read about one order."""

    check: OrderCheck
    state: RiskState
    config: RiskConfig
    kill_switch: KillSwitch
    hours: tuple[int, int] | None  # trading_hours in minutes of the day
    zone: ZoneInfo
    session_start_ns: int | None
    first_day: bool  # a live account's first trading day
    correlation: Correlation | None
    _values: dict[str, Decimal] = field(default_factory=dict)  # computed on first use

    @property
    def order(self) -> SubmitOrder:
        return self.check.order

    def values_after(self) -> dict[str, Decimal]:
        """|value| of every position after the fill (this symbol at the order's price);
        computed once per order, however many rules read it."""
        if not self._values:
            check, order = self.check, self.check.order
            after = dict(check.positions)
            after[order.symbol] = after.get(order.symbol, Decimal(0)) + order.signed_quantity
            price, marks = check.price, check.marks
            self._values.update(
                (s, abs(q) * (price if s == order.symbol else marks.get(s, price)))
                for s, q in after.items()
                if q
            )
            self._values.setdefault(order.symbol, Decimal(0))
        return self._values


Rule = Callable[[RuleInput], "str | None"]


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


# -- every order ------------------------------------------------------------------------


def kill_switch(r: RuleInput) -> str | None:
    if r.kill_switch.is_engaged():
        return "KILL_SWITCH: trading halted by the kill switch file"
    return None


def halted(r: RuleInput) -> str | None:
    if r.state.trading_state == "HALTED":
        return f"HALTED: trading state HALTED ({r.state.state_reason or 'no reason given'})"
    return None


def reducing(r: RuleInput) -> str | None:
    if r.state.trading_state == "REDUCING":
        return f"REDUCING: only orders that shrink a position ({r.state.state_reason})"
    return None


def order_notional(r: RuleInput) -> str | None:
    notional = r.order.quantity * r.check.price
    if notional > _dec(r.config.max_order_notional_usd):
        return (
            f"MAX_ORDER_NOTIONAL: order value {notional:.2f} > "
            f"{r.config.max_order_notional_usd:.2f}"
        )
    return None


def position_notional(r: RuleInput) -> str | None:
    after = r.values_after()[r.order.symbol]
    if after > _dec(r.config.max_position_notional_usd):
        return (
            f"MAX_POSITION_NOTIONAL: position value after fill {after:.2f} > "
            f"{r.config.max_position_notional_usd:.2f}"
        )
    return None


def buying_power(r: RuleInput) -> str | None:
    after = r.values_after()[r.order.symbol]
    if after > max(r.check.equity, Decimal(0)) * _dec(r.config.max_gross_leverage):
        return (
            f"INSUFFICIENT_BUYING_POWER: position value after fill {after:.2f} > equity "
            f"{r.check.equity:.2f} x max_gross_leverage {r.config.max_gross_leverage}"
        )
    return None


# -- new risk: who, when, how often ------------------------------------------------------


def symbol_allowed(r: RuleInput) -> str | None:
    allowed = r.config.allowed_symbols
    if allowed is not None and r.order.symbol not in allowed:
        return f"SYMBOL_NOT_ALLOWED: {r.order.symbol} is not in risk.allowed_symbols"
    return None


def trading_hours(r: RuleInput) -> str | None:
    if r.hours is None:
        return None
    local = datetime.fromtimestamp(r.check.ts / 1e9, UTC).astimezone(r.zone)
    minute = local.hour * 60 + local.minute
    if r.hours[0] <= minute < r.hours[1]:
        return None
    start, end = r.config.trading_hours or ("", "")
    return (
        f"OUTSIDE_TRADING_HOURS: {local:%H:%M} {r.config.trading_timezone} is outside {start}-{end}"
    )


def warmup(r: RuleInput) -> str | None:
    seconds, start = r.config.warmup_s, r.session_start_ns
    if start is None or r.check.ts < start + seconds * 1e9:
        return f"WARMUP: {seconds:g} s after the session starts"
    return None


def daily_cap(r: RuleInput) -> str | None:
    if r.state.daily_halt:
        return f"DAILY_CAP: no new risk today ({r.state.daily_halt})"
    return None


def loss_streak(r: RuleInput) -> str | None:
    if r.check.ts < r.state.cooldown_until_ns:
        return "LOSS_STREAK: cooling down after a losing streak"
    return None


def daily_trades(r: RuleInput) -> str | None:
    limit = r.config.max_daily_trades
    if limit is not None and r.state.trades_today >= limit:
        return f"MAX_DAILY_TRADES: {r.state.trades_today} today (limit {limit})"
    return None


def time_between_trades(r: RuleInput) -> str | None:
    last = r.state.last_trade_ns.get(r.order.symbol)
    gap = r.config.min_time_between_trades_s
    if gap is None or last is None or r.check.ts - last >= gap * 1e9:
        return None
    waited = (r.check.ts - last) / 1e9
    return f"MIN_TIME_BETWEEN_TRADES: {waited:.0f} s since {r.order.symbol}'s last, < {gap:g} s"


# -- new risk: the venue and the margin --------------------------------------------------


def venue_minimum(r: RuleInput) -> str | None:
    """A too-small signal is dropped, never inflated to the venue's minimum."""
    config, order = r.config, r.order
    notional = order.quantity * r.check.price
    if order.quantity < _dec(config.min_order_qty) or notional < _dec(
        config.min_order_notional_usd
    ):
        return (
            f"BELOW_VENUE_MINIMUM: {order.quantity} {order.symbol} ({notional:.2f} USD) < "
            f"min {config.min_order_qty:g} / {config.min_order_notional_usd:.2f} USD"
        )
    return None


def free_balance(r: RuleInput) -> str | None:
    config, order = r.config, r.order
    if order.signed_quantity <= 0 or r.check.cash is None:
        return None
    margin = order.quantity * r.check.price / _dec(config.margin_leverage)
    free = r.check.cash - margin
    if free < _dec(config.min_free_balance_usd):
        return (
            f"MIN_FREE_BALANCE: {free:.2f} USD would remain "
            f"(keep {config.min_free_balance_usd:.2f})"
        )
    return None


def near_liquidation(r: RuleInput) -> str | None:
    config, side, price = r.config, r.order.side, r.check.price
    liquidation = liquidation_price(
        side, price, _dec(config.margin_leverage), _dec(config.maintenance_margin)
    )
    distance = abs(price - liquidation) / price
    needed = _dec(config.sl_buffer_multiplier * config.assumed_stop_bps / 1e4)
    if distance >= needed:
        return None
    kind = "near_liquidation_long" if side is Side.BUY else "near_liquidation_short"
    return (
        f"NEAR_LIQUIDATION: {kind}: liquidation {distance:.2%} away < "
        f"{config.sl_buffer_multiplier:g} x stop {config.assumed_stop_bps:g} bps"
    )


# -- new risk: exposure of equity --------------------------------------------------------


def positive_equity(r: RuleInput) -> str | None:
    if r.check.equity <= 0:
        return f"INSUFFICIENT_BUYING_POWER: equity {r.check.equity:.2f}"
    return None


def position_size(r: RuleInput) -> str | None:
    config = r.config
    size, which = config.max_position_size, "limit"
    if r.first_day and config.first_day_position_size is not None:
        size, which = config.first_day_position_size, "first-day limit"
    if size is None:
        return None
    own = r.values_after()[r.order.symbol] / r.check.equity
    if own > _dec(size):
        return (
            f"MAX_POSITION_SIZE: {r.order.symbol} would be {own:.1%} of equity ({which} {size:.0%})"
        )
    return None


def portfolio_heat(r: RuleInput) -> str | None:
    limit = r.config.max_portfolio_heat
    if limit is None:
        return None
    heat = sum(r.values_after().values(), Decimal(0)) / r.check.equity
    if heat > _dec(limit):
        return f"PORTFOLIO_HEAT: positions would be {heat:.1%} of equity (limit {limit:.0%})"
    return None


def deployed_capital(r: RuleInput) -> str | None:
    limit = r.config.max_deployed_usd
    if limit is None:
        return None
    deployed = sum(r.values_after().values(), Decimal(0))
    if deployed > _dec(limit):
        return f"MAX_DEPLOYED: positions would be {deployed:,.2f} USD (limit {limit:,.0f} USD)"
    return None


def no_short(r: RuleInput) -> str | None:
    held = r.check.positions.get(r.order.symbol, Decimal(0))
    if held + r.order.signed_quantity < 0:
        return f"SHORT_NOT_ALLOWED: {r.order.symbol} would be short (risk.allow_short false)"
    return None


def sector_exposure(r: RuleInput) -> str | None:
    config = r.config
    sector = config.sectors.get(r.order.symbol)
    if sector is None or config.max_sector_exposure is None:
        return None
    values = r.values_after()
    exposure = (
        sum((v for s, v in values.items() if config.sectors.get(s) == sector), Decimal(0))
        / r.check.equity
    )
    if exposure > _dec(config.max_sector_exposure):
        limit = config.max_sector_exposure
        return f"SECTOR_EXPOSURE: {sector} would be {exposure:.1%} of equity (limit {limit:.0%})"
    return None


def correlation(r: RuleInput) -> str | None:
    limit, measure = r.config.max_correlation, r.correlation
    if limit is None or measure is None:
        return None
    order = r.order
    for held, quantity in r.check.positions.items():
        if held == order.symbol or not quantity:
            continue
        rho = measure(order.symbol, held, r.check.ts)
        same_way = (quantity > 0) == (order.signed_quantity > 0)
        if rho is not None and same_way and rho > limit:
            return f"CORRELATION: {order.symbol} ~ {held} rho {rho:.2f} > {limit:.2f}"
    return None


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One rule of the table: the function, whether it applies to new risk only, and
    whether a config switches it on (None: always on)."""

    rule: Rule
    new_risk: bool
    enabled: Callable[[RiskConfig], bool] | None = None


# In the order they are checked; the first denial wins.
RULES: tuple[RuleRow, ...] = (
    RuleRow(kill_switch, new_risk=False),
    RuleRow(halted, new_risk=False),
    RuleRow(reducing, new_risk=True),
    RuleRow(symbol_allowed, True, lambda c: c.allowed_symbols is not None),
    RuleRow(no_short, True, lambda c: not c.allow_short),
    RuleRow(trading_hours, True, lambda c: c.trading_hours is not None),
    RuleRow(warmup, True, lambda c: c.warmup_s > 0),
    RuleRow(daily_cap, True),
    RuleRow(loss_streak, True),
    RuleRow(daily_trades, True, lambda c: c.max_daily_trades is not None),
    RuleRow(time_between_trades, True, lambda c: c.min_time_between_trades_s is not None),
    RuleRow(venue_minimum, True),
    RuleRow(free_balance, True, lambda c: c.min_free_balance_usd > 0),
    RuleRow(near_liquidation, True, lambda c: c.margin_leverage > 1),
    RuleRow(positive_equity, True),
    RuleRow(position_size, True),
    RuleRow(portfolio_heat, True, lambda c: c.max_portfolio_heat is not None),
    RuleRow(deployed_capital, True, lambda c: c.max_deployed_usd is not None),
    RuleRow(sector_exposure, True, lambda c: bool(c.sectors) and c.max_sector_exposure is not None),
    RuleRow(correlation, True, lambda c: c.max_correlation is not None),
    RuleRow(order_notional, new_risk=False),
    RuleRow(position_notional, new_risk=False),
    RuleRow(buying_power, new_risk=True),
)


def active_rules(config: RiskConfig) -> tuple[RuleRow, ...]:
    """The rows of ``RULES`` that ``config`` switches on, in order (computed once)."""
    return tuple(row for row in RULES if row.enabled is None or row.enabled(config))


def first_denial(rows: tuple[RuleRow, ...], rule_input: RuleInput, adds: bool) -> str | None:
    """The first rule's denial, skipping new-risk rules for an order that adds none."""
    for row in rows:
        if row.new_risk and not adds:
            continue
        reason = row.rule(rule_input)
        if reason is not None:
            return reason
    return None


__all__ = ["RULES", "Correlation", "RuleInput", "RuleRow", "active_rules", "first_denial"]
