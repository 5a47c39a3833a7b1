"""The ``tradeloop`` entry point."""

from __future__ import annotations

import typer

from tradeloop import __version__
from tradeloop.cli import (
    backup_cmd,
    collect_cmd,
    config_cmd,
    control_cmd,
    daemon_cmd,
    db_cmd,
    demo_cmd,
    forecast_cmd,
    health_cmd,
    ingest_cmd,
    models_cmd,
    notify_cmd,
    report_cmd,
    retrain_cmd,
    risk_cmd,
    run_cmd,
    scheduler_cmd,
    serve_cmd,
    service_cmd,
    stack_cmd,
    train_cmd,
)

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
app.command("demo")(demo_cmd.demo)
app.command("ingest")(ingest_cmd.ingest)
app.command("verify")(ingest_cmd.verify)
app.command("repair")(ingest_cmd.repair)
app.command("collect")(collect_cmd.collect)
app.add_typer(collect_cmd.labels_app, name="labels")
app.command("export")(collect_cmd.export)
app.command("train")(train_cmd.train)
app.add_typer(models_cmd.app, name="models")
app.add_typer(serve_cmd.app, name="serve")
app.command("retrain")(retrain_cmd.retrain)
app.command("run")(run_cmd.run)
app.command("daemon")(daemon_cmd.daemon)
app.add_typer(risk_cmd.app, name="risk")
app.command("forecast")(forecast_cmd.forecast)
app.add_typer(report_cmd.app, name="report")
app.command("backup")(backup_cmd.backup)
app.command("restore-drill")(backup_cmd.restore_drill)
app.command("restore")(backup_cmd.restore)
app.command("health")(health_cmd.health)
app.add_typer(notify_cmd.app, name="notify")
app.command("scheduler")(scheduler_cmd.scheduler)
app.command("up")(stack_cmd.up)
app.command("status")(stack_cmd.status)
app.command("install-service")(service_cmd.install_service)
app.command("halt")(control_cmd.halt)
app.command("resume")(control_cmd.resume)
app.command("close-all")(control_cmd.close_all)
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")


def _version(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version"
    ),
) -> None:
    """tradeloop command line."""


def run() -> None:
    app()
