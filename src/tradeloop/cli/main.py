"""The ``tradeloop`` entry point."""

from __future__ import annotations

import os
from typing import Any

import typer

from tradeloop import __version__
from tradeloop.cli import (
    agent_cmd,
    backup_cmd,
    collect_cmd,
    config_cmd,
    control_cmd,
    curve_cmd,
    daemon_cmd,
    db_cmd,
    demo_cmd,
    forecast_cmd,
    health_cmd,
    ingest_cmd,
    mbo_cmd,
    mode_cmd,
    models_cmd,
    notify_cmd,
    release_cmd,
    report_cmd,
    research_cmd,
    retrain_cmd,
    risk_cmd,
    run_cmd,
    scalper_cmd,
    scheduler_cmd,
    serve_cmd,
    service_cmd,
    stack_cmd,
    tools_cmd,
    train_cmd,
    workspace_cmd,
)
from tradeloop.cli.help_text import tidy

app = typer.Typer(
    name="tradeloop",
    help=(
        "tradeloop - ingest, features, labels, train, register, trade and report, on one "
        "machine.\n\nExamples:\n\n  tradeloop demo              # the whole loop on bundled "
        "real data\n\n  tradeloop demo --quick --json\n\n"
        "  tradeloop ingest --mode deep_backfill --tickers SPY,AAPL\n\n"
        "  tradeloop verify --strict --json\n\n"
        "  tradeloop collect --source synthetic --symbols SPY --range 30d --once\n\n"
        "  tradeloop labels build && tradeloop export && tradeloop train\n\n"
        "  tradeloop models evaluate\n\n  tradeloop serve scorer\n\n  tradeloop config show\n\n"
        "  tradeloop config validate tradeloop.yaml\n\n  tradeloop db upgrade\n\n"
        "Exit codes: 0 ok, 1 ran but refused (e.g. gate), 2 bad input or config, 3 retry later."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
GETTING_STARTED, DATA, EVENTS, MODELS = "Getting started", "Data", "Events", "Models"
TRADING, CONTROL, OPERATIONS = "Trading", "Risk & control", "Operations"
RESEARCH = "Research"
# (panel, name, command or group, the one line it shows in ``tradeloop --help``)
COMMANDS: tuple[tuple[str, str, Any, str], ...] = (
    (GETTING_STARTED, "demo", demo_cmd.demo, "The whole loop once on bundled real data"),
    (DATA, "ingest", ingest_cmd.ingest, "Daily history for the universe, governed"),
    (DATA, "verify", ingest_cmd.verify, "Check stored history and governance (reads only)"),
    (DATA, "repair", ingest_cmd.repair, "Re-ingest one symbol's range"),
    (EVENTS, "collect", collect_cmd.collect, "Intraday bars and pivot touch events, live"),
    (EVENTS, "labels", collect_cmd.labels_app, "Label events with their outcomes"),
    (EVENTS, "export", collect_cmd.export, "Events, features and labels to the lake"),
    (MODELS, "train", train_cmd.train, "Train the event models; register a candidate"),
    (MODELS, "models", models_cmd.app, "Versions, aliases, gates, promote, rollback"),
    (MODELS, "retrain", retrain_cmd.retrain, "One cycle: ingest, label, train, promote, reload"),
    (MODELS, "forecast", forecast_cmd.forecast, "Multi-horizon return forecasts per symbol"),
    (MODELS, "curve", curve_cmd.app, "The 100-horizon prediction curve: train, predict"),
    (MODELS, "agent", agent_cmd.app, "The PIM trading agent: train (PPO, branching DQN), evaluate"),
    (MODELS, "serve", serve_cmd.app, "The scorer, the control API, the order-book stream"),
    (TRADING, "run", run_cmd.run, "A strategy in backtest, paper, simulate or live"),
    (TRADING, "daemon", daemon_cmd.daemon, "Trade one account around the clock"),
    (TRADING, "mode", mode_cmd.app, "Account modes: status, promote through gates, demote"),
    (TRADING, "release", release_cmd.release, "Release a scalper model: shadow, canary, ramp"),
    (TRADING, "rollout", release_cmd.rollout_app, "The scalper's routing: status, set"),
    (TRADING, "scalper", scalper_cmd.app, "The scalper's stream topology: run it, its services"),
    (RESEARCH, "mbo", mbo_cmd.app, "Order-by-order data: import, replay, the book, gold"),
    (RESEARCH, "research", research_cmd.app, "Configs, datasets, experiment sweeps, results"),
    (CONTROL, "halt", control_cmd.halt, "Stop new orders everywhere (kill switch)"),
    (CONTROL, "resume", control_cmd.resume, "Lift the kill switch, after showing why it is on"),
    (CONTROL, "close-all", control_cmd.close_all, "Flatten an account"),
    (CONTROL, "risk", risk_cmd.app, "VaR and CVaR of an account's positions"),
    (OPERATIONS, "status", stack_cmd.status, "The supervised stack: up or not, restarts"),
    (OPERATIONS, "up", stack_cmd.up, "Run the stack (API, scorer, collector, scheduler)"),
    (OPERATIONS, "report", report_cmd.app, "The daily ML report"),
    (OPERATIONS, "health", health_cmd.health, "Check the host and the stack"),
    (OPERATIONS, "notify", notify_cmd.app, "Test the notification channels"),
    (OPERATIONS, "scheduler", scheduler_cmd.scheduler, "Run the desk's timetable"),
    (OPERATIONS, "backup", backup_cmd.backup, "Snapshot database, models, reports, accounts"),
    (OPERATIONS, "restore-drill", backup_cmd.restore_drill, "Prove the newest snapshot restores"),
    (OPERATIONS, "restore", backup_cmd.restore, "Replace everything with a snapshot"),
    (
        OPERATIONS,
        "install-service",
        service_cmd.install_service,
        "systemd or launchd unit files",
    ),
    (OPERATIONS, "config", config_cmd.app, "Show, validate or start a configuration"),
    (OPERATIONS, "tools", tools_cmd.app, "The scalper toolkit: fills, Monte Carlo, HPO, checks"),
    (OPERATIONS, "db", db_cmd.app, "Database revision and migrations"),
)
research_cmd.app.add_typer(
    workspace_cmd.app, name="workspace", short_help="Teams' workspaces and members' roles"
)
for panel, name, target, summary in COMMANDS:
    if isinstance(target, typer.Typer):
        app.add_typer(target, name=name, rich_help_panel=panel, short_help=summary)
    else:
        app.command(name, rich_help_panel=panel, short_help=summary)(target)
tidy(app)


def _version(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


def _profile(value: str | None) -> None:
    if value:
        # through the environment, so that the stack's child processes get it too
        os.environ["TRADELOOP_PROFILE"] = value


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version"
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        callback=_profile,
        metavar="NAME",
        help="an origin stack's defaults under your config: pivotquant, institutional, pim, "
        "scalper, qmachina (tradeloop config show lists them)",
    ),
) -> None:
    """tradeloop command line."""


def run() -> None:
    app()
