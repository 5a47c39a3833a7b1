"""What every trading entry point (run, daemon) builds and checks before it trades: the
strategy plan by name, and the refusals (stale or kill-switched model, ungoverned symbols,
no live venue)."""

from __future__ import annotations

import getpass
import time
from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.core.errors import ConfigError, TradingRefused
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.strategy import Strategy
from tradeloop.usecases.paper_trading import (
    AccountRules,
    LiveVenue,
    PaperAccount,
    PaperStart,
    open_account,
)
from tradeloop.usecases.strategy_plans import StrategyPlan


def strategy_plan(
    app: App, strategy: str, params: dict[str, Any], symbols: tuple[str, ...], seconds: int
) -> StrategyPlan:
    from tradeloop.features.touch_events import EVENT_SCHEMA
    from tradeloop.serving.loader import registry_loader
    from tradeloop.usecases.ml_signal_plan import ml_signal_plan
    from tradeloop.usecases.strategy_plans import sma_cross_plan, user_plan

    cap = app.config.risk.position_fraction_cap(len(symbols))
    if strategy == "sma_cross":
        return sma_cross_plan(params, len(symbols), cap)
    if strategy == "pim_agent":
        return _pim_agent_plan(app, str(params.get("agent") or "active"), cap)
    if strategy != "ml_signal":
        return user_plan(strategy)
    name = app.config.scorer.model_name
    served = registry_loader(app.registry(), name, EVENT_SCHEMA, shadow=False)()
    if served.active is None:
        candidate = served.aliases.get("candidate")
        hint = f" (candidate {candidate} is not promoted)" if candidate else ""
        raise ConfigError(
            f"--strategy ml_signal needs an active {name} model{hint}: train and promote one "
            "(tradeloop train; tradeloop models evaluate)"
        )
    return ml_signal_plan(
        app.config.ml_signal,
        served.active,
        app.config.pivots,
        seconds,
        len(symbols),
        cap,
        risk=app.config.risk,
    )


def _pim_agent_plan(app: App, ref: str, cap: float) -> StrategyPlan:
    """The agent ``ref`` names; its decisions go to var/logs/pim_agent_decisions.jsonl."""
    import json

    from tradeloop.usecases.pim_agent_plan import pim_agent_plan

    log = app.settings.home / "logs" / "pim_agent_decisions.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)

    def decided(record: dict[str, Any]) -> None:
        with log.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, sort_keys=True) + "\n")

    return pim_agent_plan(app.registry(), ref, (app.daily_bars, app.dated_features),
                          app.config.curve, cap, decided)  # fmt: skip


def require_fresh_model(app: App, plan: StrategyPlan) -> None:
    """Paper, simulate and live act on signals now: refused while the latest daily ML
    report says kill-switch, and for a model past the scorer's stale_max_hours (as the
    scorer refuses its signals)."""
    if plan.model is None:
        return
    from tradeloop.usecases.daily_report import latest_state

    report = latest_state(app.settings.reports_dir)
    if report is not None and report[0] == "kill-switch":
        raise TradingRefused(
            f"the daily ML report says kill-switch ({report[1]}): ML signals are refused "
            "until a newer `tradeloop report daily` is no longer kill-switch (docs/runbook.md)"
        )
    age_hours = plan.model.age_seconds(time.time_ns()) / 3600
    limit = app.config.scorer.stale_max_hours
    if age_hours > limit:
        raise TradingRefused(
            f"model {plan.model.model_version_id} was trained on data ending {age_hours:.0f} h "
            f"ago (scorer.stale_max_hours {limit:g}); retrain it (tradeloop retrain)"
        )


def require_live(app: App, symbols: tuple[str, ...]) -> LiveVenue:
    """The live venue, once symbol governance allows every symbol (else GovernanceHalt,
    logged in governance_halt.log) and a venue is configured (else TradingRefused)."""
    require_governed(app, symbols, live=True)
    return app.live_venue()


def require_governed(app: App, symbols: tuple[str, ...], *, live: bool) -> None:
    """The runbooks' data-governance gate before paper and live trading: a DEGRADED or
    QUARANTINED symbol is never traded; live also needs every symbol governed ACTIVE,
    paper accepts bars that never went through governed ingestion (collected ones)."""
    from tradeloop.usecases.governance_gate import require_tradeable

    require_tradeable(
        app.ingest_store().governance_states(),
        symbols,
        app.config.ingest.required_rows,
        app.settings.governance_halt_log,
        time.time_ns(),
        allow_ungoverned=not live,
    )


def open_trading_account(
    app: App,
    name: str,
    strategy: Strategy,
    execution: ExecutionConfig,
    venue: LiveVenue | None = None,
) -> tuple[PaperAccount, PaperStart]:
    """A paper account (``var/paper/<name>``), or with ``venue`` a live one
    (``var/live/<name>``), opened and reconciled; TradingRefused when it must not trade."""
    rules = AccountRules(execution, app.config.risk, app.kill_switch())
    if venue is not None:
        account = PaperAccount.under(app.settings.home / "live", name, live=True)
        rules = _live_rules(app, name, rules)
    else:
        account = PaperAccount.under(app.settings.paper_dir, name)
    opened = open_account(
        account,
        stores=app.paper_stores(),
        strategy=strategy,
        rules=rules,
        now_ns=time.time_ns(),
        actor=getpass.getuser(),
        live=venue,
    )
    return account, opened


def _live_rules(app: App, name: str, rules: AccountRules) -> AccountRules:
    """A live account trades only once promoted to live, under its ramp step's limits and,
    on its first live day, the first-day limits (TradingRefused otherwise)."""
    import dataclasses

    from tradeloop.bootstrap.rollout import AppModeEvidence, actor, mode_store
    from tradeloop.usecases.mode_transition import live_limits

    limits = live_limits(mode_store(app), AppModeEvidence(app), app.config.promotion, name,
                         app.config.risk, time.time_ns(), actor(app, "ramp"))  # fmt: skip
    return dataclasses.replace(rules, risk=limits.risk, live_since_ns=limits.live_since_ns,
                               first_day_risk=limits.first_day)  # fmt: skip


def trading_venue(
    app: App, plan: StrategyPlan, mode: str, feed: str, symbols: tuple[str, ...]
) -> LiveVenue | None:
    """Check that ``plan`` may trade ``symbols`` in ``mode`` (paper, simulate, live) and
    return the live venue (live mode), else None; ConfigError or TradingRefused why not."""
    require_fresh_model(app, plan)
    if mode == "live" and feed != "live":
        raise ConfigError(
            "--mode live trades real money: it takes --feed live only (replayed history "
            "would send real orders on old prices)"
        )
    if mode == "paper":
        require_governed(app, symbols, live=False)
    return require_live(app, symbols) if mode == "live" else None
