"""``tradeloop release --shadow-id MODEL_ID`` (the scalper's release flow) and
``tradeloop rollout status|set`` (the routing between the venue and paper)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tradeloop.cli.errors import handled_errors

ConfigOption = Annotated[Path | None, typer.Option(help="config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]

rollout_app = typer.Typer(help="The scalper's routing: status, set.", no_args_is_help=True)


def release(
    shadow_id: Annotated[str, typer.Option("--shadow-id", help="the scalper model version")],
    disable_rollout: Annotated[
        bool, typer.Option("--disable-rollout", help="validate, then end with the rollout disabled")
    ] = False,
    skip_validations: Annotated[
        bool, typer.Option("--skip-validations", help="when rerunning during the same release")
    ] = False,
    poll_seconds: Annotated[float, typer.Option(min=0.05, help="seconds between checks")] = 5.0,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Release a scalper model step by step: validations (feature schema hash, PR-AUC
    and precision vs the active model, ONNX parity, the canary pipeline on normal / event /
    high-volatility days) -> shadow >= release.shadow_hours -> canary at
    release.canary_fraction for release.canary_hours -> 25 % -> 50 % -> 100 %, the canary
    supervisor rolling back on any guard rail; thresholds frozen release.freeze_hours
    after. The state is stored after every step: run the same command again after a crash
    or a reboot and it resumes where it was, waiting only what is left of the stage; after
    a failed, rolled-back or stopped release it starts a new attempt.

    Examples:

      tradeloop scalper train && tradeloop release --shadow-id MODEL_ID

      tradeloop release --shadow-id MODEL_ID --disable-rollout

    Exit codes: 0 released (or stopped by --disable-rollout), 1 a validation failed or
    the canary was rolled back, 2 bad input.
    """
    from tradeloop.bootstrap.scalper import scalper_app
    from tradeloop.bootstrap.scalper_release import release_ports
    from tradeloop.usecases.release import ReleaseRequest, run_release

    console = Console(highlight=False, stderr=as_json)
    with handled_errors():
        app = scalper_app(config)
        name = app.config.scalper.ai_scorer.registry_name
        version = app.registry().find(shadow_id, name).model_version_id
        ports = release_ports(app, console.print, poll_seconds)
        request = ReleaseRequest(name, version, skip_validations, disable_rollout, poll_seconds)
        state = run_release(ports, app.config.release, request)
    if as_json:
        print(json.dumps(state, indent=2, default=str))
    else:
        console.print(f"release {version}: {state['outcome']}")
    if state["outcome"] in ("failed", "rolled_back"):
        raise typer.Exit(1)


@rollout_app.command("status")
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The routing (mode, canary share, cooldown, fail-safe, frozen thresholds) and the
    releases with their stage.

    Example: tradeloop rollout status --json
    """
    from tradeloop.bootstrap.scalper import scalper_app
    from tradeloop.bootstrap.scalper_release import rollout_view

    with handled_errors():
        view = rollout_view(scalper_app(config), time.time_ns())
    if as_json:
        print(json.dumps(view, indent=2, default=str))
        return
    _print_view(view)


def _print_view(view: dict[str, Any]) -> None:
    console = Console(highlight=False)
    routing = view["routing"]
    console.print(
        f"routing: {routing['mode']} (venue share {routing['venue_share']:.0%})"
        + (f", cooldown until {routing['cooldown_until']}" if routing["cooldown_until"] else "")
        + (f", fail-safe until {routing['fail_safe_until']}" if routing["fail_safe_until"] else "")
        + (
            f", thresholds frozen until {routing['frozen_until']}"
            if routing["frozen_until"]
            else ""
        )
    )
    if routing.get("last_switch"):
        switch = routing["last_switch"]
        console.print(
            f"last switch: {switch.get('from')} -> {switch.get('to')}: {switch.get('reason')}"
        )
    for r in view["releases"]:
        console.print(f"release {r['model_id']}: {r['stage']} {r['outcome'] or ''}".rstrip())


@rollout_app.command("set")
def set_mode(
    mode: Annotated[str, typer.Option(help="disabled, canary or full")],
    fraction: Annotated[float | None, typer.Option(help="canary share (0-1)")] = None,
    reason: Annotated[str, typer.Option(help="why (kept with the switch)")] = "operator",
    config: ConfigOption = None,
) -> None:
    """Switch the routing by hand (the executors follow within a second). A canary is
    refused during a rollback's cooldown.

    Example: tradeloop rollout set --mode canary --fraction 0.05 --reason "manual canary"
    """
    from tradeloop.bootstrap.scalper import scalper_app
    from tradeloop.bootstrap.scalper_release import set_routing

    with handled_errors():
        routing = set_routing(scalper_app(config), mode, fraction, reason, time.time_ns())
    Console().print(f"routing: {routing.mode} (canary share {routing.canary_fraction:g})")
