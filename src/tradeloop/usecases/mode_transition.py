"""Account modes: promote (backtest -> paper -> live) through the runbook's gates, demote,
show where each account stands, and the live ramp-up week by week.

A promotion evaluates every criterion and changes nothing unless all hold (or ``force``
with a reason, audited with the failing criteria). Going live takes a backup of config and
database as the last pre-flight step, only once everything else passed. The ramp reviews
each finished live week once (natural key: account, live start, week): a profitable week
moves to the next step, any other holds; each review is audited and notified.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tradeloop.core.errors import ConfigError, DataError, TradingRefused
from tradeloop.risk.config import RiskConfig
from tradeloop.rollout import mode_gates as gates
from tradeloop.rollout.account_mode import AccountMode, check_move
from tradeloop.rollout.config import PromotionConfig, RampStep
from tradeloop.rollout.mode_gates import Criterion, DryRun, Mode, PaperRecord, Preflight
from tradeloop.rollout.ramp import (
    RampReview,
    current_step,
    due_weeks,
    first_day_risk,
    live_week,
    ramped_risk,
    review,
    same_local_day,
    week_span,
)
from tradeloop.usecases.paper_trading import ACCOUNT_NAME

Notify = Callable[[str, str], None]


class ModeStore(Protocol):
    def get(self, account: str) -> AccountMode | None: ...

    def all(self) -> list[AccountMode]: ...

    def save(self, mode: AccountMode, audit: dict[str, Any]) -> None: ...

    def reviews(self, account: str, live_since_ns: int) -> list[RampReview]: ...

    def add_review(
        self, account: str, live_since_ns: int, review: RampReview, now_ns: int, actor: str
    ) -> bool: ...


class ModeEvidence(Protocol):
    """Where the gates' figures come from (``bootstrap/rollout.py`` reads the real ones)."""

    def agent(self, ref: str) -> tuple[dict[str, Any], list[str]]:
        """The agent version's manifest and file names."""
        ...

    def paper_record(self, account: str, since_ns: int, now_ns: int) -> PaperRecord: ...

    def dry_run(self, now_ns: int) -> DryRun: ...

    def preflight(self, account: str, now_ns: int) -> Preflight:
        """Every pre-flight check but the backup (``backup_ok`` False: not taken)."""
        ...

    def backup(self, now_ns: int) -> tuple[bool, str]:
        """Back up config and database now: (taken, its path or why not)."""
        ...

    def week_pnl(self, account: str, start_ns: int, end_ns: int) -> float:
        """The live account's realised P&L (USD) between the two times."""
        ...


def _check_name(account: str) -> None:
    if not ACCOUNT_NAME.match(account):
        raise ConfigError(
            f"--account {account!r}: use 1-40 letters, digits, '-' or '_' (the account's "
            "folder under var/paper and var/live)"
        )


@dataclass(frozen=True, slots=True)
class ModeChange:
    account: str
    from_mode: Mode
    to_mode: Mode
    criteria: tuple[Criterion, ...]
    changed: bool
    forced: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "from": self.from_mode, "to": self.to_mode,
                "changed": self.changed, "forced": self.forced,
                "criteria": [c.as_dict() for c in self.criteria]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    notify: Notify = field(default=lambda title, text: None)


@dataclass(frozen=True, slots=True)
class ModeDesk:
    """Where modes are kept, where the gates' evidence comes from, and the gates."""

    store: ModeStore
    evidence: ModeEvidence
    config: PromotionConfig


def promote(
    desk: ModeDesk, account: str, to: Mode, now_ns: int, actor: Actor, *,
    force: bool = False, reason: str = "", agent: str = "active",
) -> ModeChange:  # fmt: skip
    """Move ``account`` one mode up when every gate holds; ConfigError for a move that is
    not one step up or a ``force`` without a reason."""
    store, evidence, config = desk.store, desk.evidence, desk.config
    _check_name(account)
    current = store.get(account) or AccountMode.new(account)
    problem = check_move(current.mode, to, promote=True)
    if problem is not None:
        raise ConfigError(f"mode promote --account {account}: {problem}")
    if force and not reason.strip():
        raise ConfigError("--force needs --reason: say why the gates are overridden (audited)")
    criteria = _criteria(evidence, config, current, to, now_ns, agent, force)
    passed = gates.all_pass(criteria)
    if not passed and not force:
        return ModeChange(account, current.mode, to, tuple(criteria), changed=False)
    moved = current.moved(to, now_ns, actor.name, reason or "all gates passed")
    audit = {"action": "promote", "from": current.mode, "to": to, "forced": not passed,
             "reason": moved.reason, "criteria": [c.as_dict() for c in criteria]}  # fmt: skip
    store.save(moved, audit)
    failing = [c.name for c in criteria if not c.ok]
    text = f"{account}: {current.mode} -> {to}" + (
        f" FORCED past {', '.join(failing)}: {reason}" if failing else ""
    )
    actor.notify(f"mode promote {account} -> {to}", text)
    return ModeChange(account, current.mode, to, tuple(criteria), True, forced=not passed)


def _criteria(
    evidence: ModeEvidence, config: PromotionConfig, current: AccountMode, to: Mode,
    now_ns: int, agent: str, force: bool,
) -> list[Criterion]:  # fmt: skip
    if to == "paper":
        try:
            manifest, files = evidence.agent(agent)
        except (ConfigError, DataError) as exc:
            return [Criterion("agent version", str(exc)[:200], f"{agent} registered", False)]
        return gates.to_paper(manifest, files, config.to_paper)
    since = current.paper_since_ns if current.paper_since_ns is not None else current.since_ns
    record = gates.to_live_record(
        evidence.paper_record(current.account, since, now_ns), evidence.dry_run(now_ns),
        config.to_live,
    )  # fmt: skip
    first = evidence.preflight(current.account, now_ns)
    if gates.all_pass(record + gates.preflight(first, config.to_live)[:-1]) or force:
        # the backup is the last step before going live: taken only when nothing else
        # stands in the way, so a refused promotion leaves no backup behind
        taken, detail = evidence.backup(now_ns)
        first = dataclasses.replace(first, backup_ok=taken, backup_detail=detail)
    checks = gates.preflight(first, config.to_live)
    return record + checks


def demote(
    store: ModeStore, account: str, to: Mode, now_ns: int, actor: Actor, reason: str
) -> ModeChange:
    """The rollback: any lower mode, at once, audited and notified."""
    _check_name(account)
    current = store.get(account) or AccountMode.new(account)
    problem = check_move(current.mode, to, promote=False)
    if problem is not None:
        raise ConfigError(f"mode demote --account {account}: {problem}")
    moved = current.moved(to, now_ns, actor.name, reason or "demoted")
    store.save(moved, {"action": "demote", "from": current.mode, "to": to, "reason": moved.reason})
    actor.notify(
        f"mode demote {account} -> {to}", f"{account}: {current.mode} -> {to}: {moved.reason}"
    )
    return ModeChange(account, current.mode, to, (), changed=True)


def advance_ramp(
    store: ModeStore, evidence: ModeEvidence, config: PromotionConfig, mode: AccountMode,
    now_ns: int, actor: Actor,
) -> list[RampReview]:  # fmt: skip
    """Review every finished live week not reviewed yet; the reviews as stored."""
    since = mode.live_since_ns
    if mode.mode != "live" or since is None:
        return []
    reviews = store.reviews(mode.account, since)
    for week in due_weeks(since, now_ns, reviews):
        start, end = week_span(since, week)
        made = review(week, evidence.week_pnl(mode.account, start, end), current_step(reviews),
                      len(config.ramp))  # fmt: skip
        if store.add_review(mode.account, since, made, now_ns, actor.name):
            step = config.ramp[made.step]
            actor.notify(
                f"ramp {mode.account} week {week}: {made.outcome}",
                f"{mode.account}: week {week} P&L {made.pnl_usd:,.2f} USD -> {made.outcome}; "
                f"week {week + 1} runs step {made.step + 1}: {_step_text(step)}",
            )
        reviews = store.reviews(mode.account, since)
    return reviews


def _step_text(step: RampStep) -> str:
    deployed = (
        "the whole account"
        if step.max_deployed_usd is None
        else f"{step.max_deployed_usd:,.0f} USD"
    )
    return f"{deployed} deployed, {step.max_position_size:.0%} a position"


@dataclass(frozen=True, slots=True)
class LiveLimits:
    """What a live account trades under now."""

    risk: RiskConfig  # the ramp step's limits
    first_day: RiskConfig  # the first live day's (the gate applies them on that day only)
    live_since_ns: int
    week: int
    step: int


def live_limits(
    store: ModeStore, evidence: ModeEvidence, config: PromotionConfig, account: str,
    base: RiskConfig, now_ns: int, actor: Actor,
) -> LiveLimits:  # fmt: skip
    """The live account's limits; TradingRefused unless it was promoted to live."""
    mode = store.get(account)
    if mode is None or mode.mode != "live" or mode.live_since_ns is None:
        where = "backtest" if mode is None else mode.mode
        raise TradingRefused(
            f"account {account} is in {where} mode: live trading needs `tradeloop mode "
            f"promote --account {account} --to live` (its gates: docs/rollout.md)"
        )
    reviews = advance_ramp(store, evidence, config, mode, now_ns, actor)
    step = current_step(reviews)
    risk = ramped_risk(base, config.ramp[step])
    first = first_day_risk(ramped_risk(base, config.ramp[0]), config.first_day)
    return LiveLimits(risk, first, mode.live_since_ns, live_week(mode.live_since_ns, now_ns), step)


@dataclass(frozen=True, slots=True)
class AccountStatus:
    mode: AccountMode
    week: int | None
    step: int | None
    limits: dict[str, Any]
    reviews: tuple[RampReview, ...]
    next_gates: tuple[Criterion, ...]  # paper -> live record gates (pre-flight not run)


def account_status(
    store: ModeStore, evidence: ModeEvidence, config: PromotionConfig,
    accounts: Sequence[str], base: RiskConfig, now_ns: int, actor: Actor, *,
    review: bool = True,
) -> list[AccountStatus]:  # fmt: skip
    """``review`` False: read what is stored only (a status display writes nothing and
    runs no paper-record gates)."""
    for account in accounts:
        _check_name(account)
    modes = [store.get(a) or AccountMode.new(a) for a in accounts] if accounts else store.all()
    out = []
    for mode in modes:
        if mode.mode == "live" and mode.live_since_ns is not None:
            reviews = (advance_ramp(store, evidence, config, mode, now_ns, actor) if review
                       else store.reviews(mode.account, mode.live_since_ns))  # fmt: skip
            step = current_step(reviews)
            risk = ramped_risk(base, config.ramp[step])
            first_day = same_local_day(mode.live_since_ns, now_ns, base.trading_timezone)
            limits = _limits(first_day_risk(risk, config.first_day) if first_day else risk)
            limits["first_day"] = first_day
            out.append(AccountStatus(mode, live_week(mode.live_since_ns, now_ns), step, limits,
                                     tuple(reviews), ()))  # fmt: skip
            continue
        nxt: list[Criterion] = []
        if mode.mode == "paper" and review:
            since = mode.paper_since_ns if mode.paper_since_ns is not None else mode.since_ns
            nxt = gates.to_live_record(evidence.paper_record(mode.account, since, now_ns),
                                       evidence.dry_run(now_ns), config.to_live)  # fmt: skip
        out.append(AccountStatus(mode, None, None, {}, (), tuple(nxt)))
    return out


def _limits(risk: RiskConfig) -> dict[str, Any]:
    keys = ("max_deployed_usd", "max_position_size", "max_portfolio_heat", "daily_loss_limit",
            "max_daily_trades", "min_time_between_trades_s", "max_sector_exposure",
            "allowed_symbols", "trading_hours", "allow_short")  # fmt: skip
    return {k: getattr(risk, k) for k in keys}
