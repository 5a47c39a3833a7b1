"""``tradeloop retrain``: one locked cycle from fresh data to a reloaded scorer."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from tradeloop.cli.errors import EXIT_FAILED, handled_errors
from tradeloop.cli.symbols import parse_symbols
from tradeloop.core.errors import DataError, GateRejected
from tradeloop.core.time import iso_from_ns

if TYPE_CHECKING:
    from tradeloop.bootstrap.app import App
    from tradeloop.usecases.retrain import CycleResult, StepOutcome

STATUS_STYLE = {
    "ok": "green",
    "warning": "yellow",
    "refused": "yellow",
    "failed": "red",
    "skipped": "dim",
}


def _ingest(app: App, source: str | None, symbols: str | None) -> dict[str, Any]:
    from tradeloop.bootstrap.collector_source import build_collector, collector_settings

    updates: dict[str, Any] = {"score_enabled": False}
    if source:
        updates["source"] = source
    if symbols is not None:
        updates["symbols"] = parse_symbols(symbols, "--symbols")
    elif app.config.scheduler.retrain_symbols:  # RETRAIN_SYMBOLS, as PivotQuant's cycle
        updates["symbols"] = app.config.scheduler.retrain_symbols
    settings = collector_settings(app, updates, serves_health=False)
    collector = build_collector(app, settings, "synthetic")
    results = collector.poll()
    if collector.health.snapshot(time.time_ns())["consecutive_errors"]:
        raise RuntimeError(
            f"ingest from {settings.source}: {collector.health.last_error}; "
            "training on the data already stored"
        )
    bars = sum(r.bars_new for r in results)
    events = sum(r.events_new for r in results)
    return {
        "summary": f"{bars} new bars, {events} new events from {settings.source}",
        "bars_new": bars,
        "events_new": events,
    }


def _train(app: App) -> dict[str, Any]:
    from tradeloop.usecases.model_training import train_and_register

    outcome = train_and_register(
        app.registry(), app.settings.home / "lake", app.config.event_models, allow_partial=False
    )
    if outcome.aborted:
        raise DataError(
            "training aborted, nothing registered: "
            + "; ".join(f"{k}: {v}" for k, v in outcome.failures.items())
        )
    return {
        "summary": f"candidate {outcome.version_id} ({len(outcome.models)} models)",
        "version": outcome.version_id,
    }


def _evaluate(app: App, name: str) -> dict[str, Any]:
    from tradeloop.settings import load_governance_environment
    from tradeloop.usecases.retrain import StepRefused

    registry = app.registry()
    candidate = registry.resolve(name, "candidate")
    if candidate is None:
        raise DataError("no candidate to evaluate")
    if candidate == registry.resolve(name, "active"):
        return {"summary": f"candidate {candidate} is already active", "promoted": False}
    force = load_governance_environment().force_promote
    try:
        outcome = registry.promote(
            name,
            candidate,
            "active",
            actor="retrain",
            force=force,
            reason="MODEL_GOV_FORCE_PROMOTE=true" if force else "retrain cycle",
        )
    except GateRejected as exc:
        gate = exc.outcome.gate.as_dict() if exc.outcome is not None else {}  # type: ignore[attr-defined]
        raise StepRefused(
            f"gates refused {candidate}; active unchanged: {exc}", {"gate": gate, "promoted": False}
        ) from None
    return {
        "summary": f"{candidate} promoted to active ({outcome.decision})",
        "promoted": True,
        "version": candidate,
        "gate": outcome.gate.as_dict(),
    }


def _reload(app: App, scorer_url: str) -> dict[str, Any]:
    import httpx

    token = app.settings.api_token
    if token is None:
        raise RuntimeError(
            "TRADELOOP_API_TOKEN is not set, so the scorer cannot be told to "
            "reload; it serves the new model after its next restart or reload"
        )
    try:
        response = httpx.post(
            f"{scorer_url}/reload",
            timeout=60,
            headers={"Authorization": f"Bearer {token.get_secret_value()}"},
        )
    except httpx.TransportError as exc:
        raise RuntimeError(
            f"scorer at {scorer_url} not reachable ({type(exc).__name__}); it "
            "serves the new model once restarted"
        ) from None
    if response.status_code != 200:
        raise RuntimeError(
            f"scorer refused the reload: HTTP {response.status_code} {response.text[:300]}"
        )
    return {"summary": f"scorer at {scorer_url} reloaded", "models": response.json().get("models")}


def _record(app: App, result: CycleResult) -> None:
    from tradeloop.usecases.retrain import render_cycle_report

    reports = app.settings.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    text = render_cycle_report(result)
    stamp = result.started_at.replace(":", "").replace("-", "")[:15]
    (reports / f"retrain_{stamp}.md").write_text(text)
    (reports / "retrain_latest.md").write_text(text)
    summary = {
        "status": result.status,
        "steps": {s.name: s.status for s in result.steps},
        "started_at": result.started_at,
        "finished_at": result.finished_at,
    }
    app.audit("retrain_cycle", result.started_at, summary, "retrain")


def retrain(
    source: Annotated[str | None, typer.Option(help="ingest source (default: collector's)")] = None,
    symbols: Annotated[
        str | None,
        typer.Option(help="comma-separated (default: scheduler.retrain_symbols, else collector's)"),
    ] = None,
    scorer_url: Annotated[str | None, typer.Option(help="scorer to reload")] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """One retrain cycle: incremental ingest -> labels -> export -> train -> evaluate/promote
    -> POST /reload to the scorer -> report (var/reports/retrain_latest.md).

    Only one cycle runs at a time (var/retrain.lock). A failing step skips what depends on
    it and leaves the active model serving; a failed reload is a warning. Every step is
    logged to var/logs/retrain.jsonl and the cycle to the audit_event table.

    Examples:

      tradeloop retrain

      tradeloop retrain --source synthetic --symbols SPY --json

    Exit codes: 0 ok or warnings, 1 a step failed, 2 bad input or another cycle running.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.models.event_models import EVENT_MODELS_NAME
    from tradeloop.settings import load_settings
    from tradeloop.usecases.event_lake import build_labels, export_events
    from tradeloop.usecases.retrain import FAILED, Step, run_cycle

    console = Console(stderr=True)

    def show(outcome: StepOutcome) -> None:
        if not as_json:
            style = STATUS_STYLE.get(outcome.status, "")
            console.print(f"[{style}]{outcome.status:>8}[/] {outcome.name:<9} {outcome.detail}")

    with handled_errors():
        app = build_app(load_settings(), config)
        url = scorer_url or f"http://{app.config.scorer.host}:{app.config.scorer.port}"
        steps = [
            Step("ingest", lambda: _ingest(app, source, symbols), critical=False),
            Step(
                "labels",
                lambda: {
                    "summary": "{labels_written} labels for {events} events".format(
                        **build_labels(app.event_store(), app.ingest_store(), app.config.labels)
                    )
                },
            ),
            Step(
                "export",
                lambda: {
                    "summary": "{events} events, {labels} labels exported".format(
                        **export_events(app.event_store(), app.settings.home / "lake")
                    )
                },
            ),
            Step("train", lambda: _train(app)),
            Step("evaluate", lambda: _evaluate(app, EVENT_MODELS_NAME)),
            Step("reload", lambda: _reload(app, url), critical=False, needs_promotion=True),
        ]
        result = run_cycle(
            steps,
            lock_path=app.settings.home / "retrain.lock",
            log_path=app.settings.home / "logs" / "retrain.jsonl",
            record=lambda r: _record(app, r),
            on_step=show,
        )
    payload = result.as_dict()
    for step in payload["steps"]:
        step["data"].pop("traceback", None)
    if app.config.notify.on_retrain:
        _notify(app, result.status, console)
    if as_json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        console.print(
            f"cycle {result.status} ({iso_from_ns(time.time_ns())}); report: "
            f"{app.settings.reports_dir / 'retrain_latest.md'}"
        )
    if result.status == FAILED:
        raise typer.Exit(EXIT_FAILED)


def _notify(app: Any, status: str, console: Console) -> None:
    """Send the cycle's report (notify.on_retrain); a delivery problem never fails the
    cycle, it is said on the console and in the channels' failover."""
    from tradeloop.usecases.notifications import send_report

    try:
        report = (app.settings.reports_dir / "retrain_latest.md").read_text()
        delivery = send_report(app.notifier(), f"tradeloop retrain: {status}", report, status)
    except Exception as exc:  # a misconfigured channel must not fail a finished cycle
        console.print(f"notify: not sent ({exc})")
        return
    if delivery is not None and not delivery.delivered:
        console.print(f"notify: delivered nowhere ({delivery.failed})")
