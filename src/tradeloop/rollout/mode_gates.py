"""The gates between account modes: each criterion of the runbook with its value, its
threshold and whether it holds. Pure: the use case gathers the evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tradeloop.rollout.config import ToLiveGates, ToPaperGates

Mode = Literal["backtest", "paper", "live"]
MODES: tuple[Mode, ...] = ("backtest", "paper", "live")


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    value: str
    threshold: str
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "threshold": self.threshold,
                "ok": self.ok}  # fmt: skip


def all_pass(criteria: Sequence[Criterion]) -> bool:
    return bool(criteria) and all(c.ok for c in criteria)


def to_paper(
    manifest: Mapping[str, Any], files: Sequence[str], gates: ToPaperGates
) -> list[Criterion]:
    """Runbook Transition 1: training length, learning curve, checkpoint, held-out return."""
    episodes = int(manifest.get("episodes") or 0)
    learning = manifest.get("learning") or {}
    first, last = learning.get("first_decile"), learning.get("last_decile")
    validation = (manifest.get("validation") or {}).get("mean") or {}
    held = validation.get("total_return")
    return [
        Criterion(
            "training episodes",
            str(episodes),
            f">= {gates.min_episodes}",
            episodes >= gates.min_episodes,
        ),
        Criterion(
            "learning curve improved (last decile vs first)",
            "missing" if first is None or last is None else f"{last:.4f} vs {first:.4f}",
            "last > first",
            first is not None and last is not None and float(last) > float(first),
        ),
        Criterion(
            "checkpoint saved",
            "yes" if "checkpoint.pt" in files else "missing",
            "checkpoint.pt in the version",
            "checkpoint.pt" in files,
        ),
        Criterion(
            "held-out validation return",
            "missing" if held is None else f"{float(held):.4%}",
            f"> {gates.min_validation_return:.2%}",
            held is not None and float(held) > gates.min_validation_return,
        ),
    ]


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """What the paper account shows over its time in paper mode."""

    days: float
    total_return: float | None
    sharpe: float | None
    max_drawdown: float | None
    win_rate: float | None
    trades: int  # closed round trips rebuilt from the journal's fills
    trades_table: int  # rows in the trades table for the account
    failures: tuple[str, ...]  # crashes and venue failures in the window (daemon log)
    account: str = "found"  # where the paper account is, or that it is missing
    found: bool = True


@dataclass(frozen=True, slots=True)
class DryRun:
    """The latest simulate run: when, how many decisions and risk checks, orders sent."""

    age_hours: float | None
    decisions: int
    risk_checks: int
    orders_sent: int


@dataclass(frozen=True, slots=True)
class Preflight:
    unhealthy: tuple[str, ...]  # services not healthy, each with why
    broker_authenticated: bool
    token_valid_s: float | None  # None: the broker's authentication does not expire
    available_cash_usd: float | None
    horizons: int | None  # horizons the prediction endpoint answered (None: it failed)
    horizons_detail: str
    database_ok: bool
    database_detail: str
    backup_ok: bool  # a backup of config and database was taken just before
    backup_detail: str  # its path, or why it failed
    broker_detail: str = ""  # why the broker refused, when it did


def _fmt(value: float | None, spec: str) -> str:
    return "missing" if value is None else format(value, spec)


def _above(value: float | None, threshold: float) -> bool:
    return value is not None and value > threshold


def to_live_record(record: PaperRecord, dry: DryRun, gates: ToLiveGates) -> list[Criterion]:
    """Runbook Transition 2: the paper record and the simulate dry run."""
    drawdown = record.max_drawdown
    return [
        Criterion("paper account", record.account, "exists", record.found),
        Criterion(
            "days in paper mode",
            f"{record.days:.1f}",
            f">= {gates.min_paper_days:g}",
            record.days >= gates.min_paper_days,
        ),
        Criterion(
            "paper total return",
            _fmt(record.total_return, ".2%"),
            f"> {gates.min_total_return:.2%}",
            _above(record.total_return, gates.min_total_return),
        ),
        Criterion(
            "paper Sharpe",
            _fmt(record.sharpe, ".2f"),
            f"> {gates.min_sharpe:g}",
            _above(record.sharpe, gates.min_sharpe),
        ),
        Criterion(
            "paper max drawdown",
            _fmt(drawdown, ".2%"),
            f"< {gates.max_drawdown:.0%}",
            drawdown is not None and drawdown < gates.max_drawdown,
        ),
        Criterion(
            "paper win rate",
            _fmt(record.win_rate, ".1%"),
            f"> {gates.min_win_rate:.0%}",
            _above(record.win_rate, gates.min_win_rate),
        ),
        Criterion(
            "paper trades",
            str(record.trades),
            f">= {gates.min_trades}",
            record.trades >= gates.min_trades,
        ),
        Criterion(
            "every trade logged (journal = trades table)",
            f"{record.trades} = {record.trades_table}",
            "equal",
            record.trades == record.trades_table,
        ),
        Criterion(
            "no crash or venue failure in the window",
            "none" if not record.failures else "; ".join(record.failures[:3]),
            "none",
            not record.failures,
        ),
        Criterion(
            "simulate dry run",
            "none"
            if dry.age_hours is None
            else f"{dry.age_hours:.1f} h ago: {dry.decisions} decisions, {dry.risk_checks} risk "
            f"checks, {dry.orders_sent} orders",
            f"< {gates.dry_run_max_age_hours:g} h ago, decisions and risk checks, no orders",
            dry.age_hours is not None
            and dry.age_hours < gates.dry_run_max_age_hours
            and dry.decisions > 0
            and dry.risk_checks > 0
            and dry.orders_sent == 0,
        ),
    ]


def preflight(checks: Preflight, gates: ToLiveGates) -> list[Criterion]:
    """Runbook Phase 1: services, broker, cash, predictions, database, backup."""
    token = checks.token_valid_s
    return [
        Criterion(
            "services healthy",
            "all" if not checks.unhealthy else "; ".join(checks.unhealthy),
            "all",
            not checks.unhealthy,
        ),
        Criterion(
            "broker authenticated",
            "yes" if checks.broker_authenticated else "no",
            "yes",
            checks.broker_authenticated,
        ),
        Criterion(
            "broker authentication valid for",
            "no expiry" if token is None else f"{token:.0f} s",
            f"> {gates.token_min_valid_s:.0f} s",
            checks.broker_authenticated and (token is None or token > gates.token_min_valid_s),
        ),
        Criterion(
            "available cash",
            _fmt(checks.available_cash_usd, ",.2f"),
            f">= {gates.min_cash_usd:,.2f}",
            checks.available_cash_usd is not None
            and checks.available_cash_usd >= gates.min_cash_usd,
        ),
        Criterion(
            "prediction endpoint",
            checks.horizons_detail,
            f"{gates.horizons} horizons",
            checks.horizons == gates.horizons,
        ),
        Criterion("database integrity", checks.database_detail, "ok", checks.database_ok),
        Criterion(
            "backup of config and database",
            checks.backup_detail,
            "taken just before",
            checks.backup_ok,
        ),
    ]
