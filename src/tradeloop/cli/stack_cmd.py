"""``tradeloop up`` (the supervised stack) and ``tradeloop status``."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors
from tradeloop.core.errors import ConfigError

COMPONENTS = ("api", "scorer", "collector", "scheduler")
# `--profile paper|real`: the scalper's stream services instead (EXCHANGE_MODE as the origin)
SCALPER_SERVICES = ("collector", "signal_engine", "ai_scorer", "risk", "executor")
COMMANDS = {
    "api": ("serve", "api"),
    "scorer": ("serve", "scorer"),
    "collector": ("collect",),
    "scheduler": ("scheduler",),
}


def up(
    only: Annotated[
        str | None, typer.Option(help="comma-separated subset of api,scorer,collector,scheduler")
    ] = None,
    daemon: Annotated[
        str | None,
        typer.Option(
            help='also run the trading daemon with these arguments, e.g. "--account '
            'main --tickers SPY"'
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="paper|real: the scalper's five stream services (collector, signal_engine, "
            "ai_scorer, risk, executor) on Redis, with EXCHANGE_MODE set to it",
        ),
    ] = None,
) -> None:
    """Run the stack: control API, scorer, collector and scheduler (and the daemon with
    --daemon) as supervised child processes; with --profile paper|real, the scalper's
    stream services instead (they need TRADELOOP_REDIS_URL). A component that exits is
    restarted with a doubling back-off and counted (var/run/stack.json, `tradeloop
    status`); its output goes to var/logs/<name>.log. SIGTERM or Ctrl-C stop every
    component cleanly.

    Examples:

      tradeloop up

      tradeloop up --only api,scheduler

      tradeloop up --daemon "--account main --tickers SPY --strategy ml_signal"

      TRADELOOP_REDIS_URL=redis://127.0.0.1:6379/0 tradeloop up --profile paper

    Exit codes: 0 stopped on a signal, 2 another stack runs or bad input.
    """
    import shlex

    from tradeloop.bootstrap.app import build_app, collector_config
    from tradeloop.core.single_instance import exclusive
    from tradeloop.ops.supervisor import Component, Supervisor
    from tradeloop.settings import load_settings

    console = Console(highlight=False)
    with handled_errors():
        if profile is not None:
            _up_scalper(profile, only, config, console)
            return
        names = tuple(n.strip() for n in (only or ",".join(COMPONENTS)).split(",") if n.strip())
        unknown = [n for n in names if n not in COMPONENTS]
        if unknown or not names:
            raise ConfigError(f"--only {only!r}: choose from {', '.join(COMPONENTS)}")
        app = build_app(load_settings(), config)
        if only is None and not collector_config(app.config).enabled:
            # collector.enabled: false (LIVE_COLLECTOR_ENABLED=false): --only still starts it
            names = tuple(n for n in names if n != "collector")
            console.print("collector off (collector.enabled / LIVE_COLLECTOR_ENABLED)")
        base = (sys.executable, "-m", "tradeloop.cli")
        extra = ("--config", str(config.resolve())) if config else ()
        components = [Component(n, (*base, *COMMANDS[n], *extra)) for n in names]
        if daemon is not None:
            components.append(Component("daemon", (*base, "daemon", *shlex.split(daemon), *extra)))
        with exclusive(app.settings.home / "run" / "up.lock", "tradeloop up"):
            supervisor = Supervisor(components, app.settings.home, echo=console.print)
            stop = {"requested": False}

            def request_stop(signum: int, frame: object) -> None:
                stop["requested"] = True

            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            console.print(
                f"stack: {', '.join(c.name for c in components)}; stop with SIGTERM or Ctrl-C"
            )
            supervisor.run(lambda: stop["requested"])
    console.print("stack stopped")


def _up_scalper(profile: str, only: str | None, config: Path | None, console: Console) -> None:
    """The scalper's services supervised, EXCHANGE_MODE=<profile> for each."""
    import os

    from tradeloop.bootstrap.scalper import scalper_app
    from tradeloop.core.single_instance import exclusive
    from tradeloop.ops.supervisor import Component, Supervisor

    if profile not in ("paper", "real"):
        raise ConfigError(f"--profile {profile!r}: choose paper or real")
    names = tuple(n.strip() for n in (only or ",".join(SCALPER_SERVICES)).split(",") if n.strip())
    unknown = [n for n in names if n not in SCALPER_SERVICES]
    if unknown or not names:
        raise ConfigError(f"--only {only!r}: choose from {', '.join(SCALPER_SERVICES)}")
    app = scalper_app(config)  # the config is checked before anything starts
    if app.settings.redis_url is None:
        raise ConfigError(
            "tradeloop up --profile needs TRADELOOP_REDIS_URL (the services meet on Redis "
            "Streams). Fix: set it, or run every stage in one process: tradeloop scalper run"
        )
    extra = ("--config", str(config.resolve())) if config else ()
    components = [
        Component(n, (sys.executable, "-m", f"tradeloop.services.{n}", *extra)) for n in names
    ]
    env = {**os.environ, "EXCHANGE_MODE": profile}
    with exclusive(app.settings.home / "run" / "up.lock", "tradeloop up"):
        supervisor = Supervisor(components, app.settings.home, env=env, echo=console.print)
        stop = {"requested": False}

        def request_stop(signum: int, frame: object) -> None:
            stop["requested"] = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        console.print(f"scalper ({profile}): {', '.join(names)}; stop with SIGTERM or Ctrl-C")
        supervisor.run(lambda: stop["requested"])
    console.print("stack stopped")


def status(
    config: Annotated[
        Path | None, typer.Option(help="accepted for symmetry: status reads no config")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show each component of the supervised stack: running or not, pid, restarts,
    uptime, last exit code (from var/run/stack.json, checked against the live processes).

    Example: tradeloop status

    Exit codes: 0 every component running, 1 the stack is down or a component is not
    running, 2 var/run/stack.json is damaged (the message says what to do).
    """
    from tradeloop.ops.supervisor import (
        alive,
        read_service_counters,
        read_stack,
        uptime_now,
    )
    from tradeloop.settings import load_settings

    with handled_errors():
        # Reads files only: no database is opened (let alone migrated) to answer.
        home = load_settings().home
        stack = read_stack(home / "run" / "stack.json")
    up_running = stack is not None and alive(stack.get("supervisor_pid"))
    components = (stack or {}).get("components", {})
    now = time.time_ns()
    for component in components.values():
        if component["status"] == "running" and not (up_running and alive(component["pid"])):
            component["status"] = "gone"  # the file says running; the process is not
        component["uptime_s"] = uptime_now(component, now)
    for name, component in components.items():
        if name in SCALPER_SERVICES:  # a stream service: what it did, as of its last write
            counters = read_service_counters(home, name)
            if counters is not None:
                component["counters"] = counters
    healthy = (
        up_running
        and bool(components)
        and all(c["status"] == "running" for c in components.values())
    )
    exposure = _exposure(home)
    if as_json:
        body = {
            "up": up_running,
            "healthy": healthy,
            "components": components,
            "exposure": exposure,
        }
        print(json.dumps(body, indent=2, default=str))
    else:
        console = Console(highlight=False)
        _print_stack(console, stack, up_running, components)
        _print_exposure(console, exposure)
    if not healthy:
        raise typer.Exit(1)


def _print_stack(
    console: Console, stack: dict[str, Any] | None, up_running: bool, components: dict[str, Any]
) -> None:
    from tradeloop.ops.supervisor import counters_line

    if stack is None:
        console.print("no stack has run here (start one: tradeloop up)")
        return
    title = "stack: " + ("up" if up_running else f"down (last: {stack.get('status')})")
    table = Table(title=title)
    columns = ("component", "status", "pid", "restarts", "up for", "last exit")
    activity = any("counters" in c for c in components.values())
    for column in (*columns, "activity") if activity else columns:
        table.add_column(column)
    for name, c in components.items():
        row = [
            name,
            c["status"],
            str(c["pid"] or "-"),
            str(c["restarts"]),
            _since(c["uptime_s"]) if c["status"] == "running" else "-",
            str(c["last_exit"]),
        ]
        if activity:
            row.append(counters_line(c["counters"]) if "counters" in c else "")
        table.add_row(*row)
    console.print(table)


def _exposure(home: Path) -> dict[str, Any]:
    """Account modes and the scalper's rollout as of their last change
    (var/run/exposure.json, written by every change: status opens no database), with the
    stream services' latest rollout figures."""
    from tradeloop.ops.supervisor import read_service_counters

    try:
        exposure = json.loads((home / "run" / "exposure.json").read_text())
    except (OSError, ValueError):
        return {"error": "no mode or rollout change recorded yet"}
    if not isinstance(exposure, dict) or "rollout" not in exposure:
        return {"error": "var/run/exposure.json is damaged; any mode or rollout change rewrites it"}
    for service, key in (("executor", "executor"), ("risk", "guard")):
        counters = read_service_counters(home, service) or {}
        exposure["rollout"][key] = counters.get("rollout") or {}
    return exposure


def _print_exposure(console: Console, exposure: dict[str, Any]) -> None:
    if "error" in exposure:
        console.print(f"modes and rollout: {exposure['error']}")
        return
    console.print(f"modes and rollout as of {exposure.get('as_of')}:")
    for a in exposure["accounts"]:
        line = f"account {a['account']}: {a['mode']} since {a['since']}"
        if a["mode"] == "live":
            limits = a["limits"]
            line += (
                f", week {a['week']}, ramp step {a['step']} (deployed "
                f"{limits.get('max_deployed_usd') or 'all'} USD, position "
                f"{limits.get('max_position_size')})"
            )
        console.print(line)
    routing = exposure["rollout"]["routing"]
    executor = exposure["rollout"].get("executor") or {}
    guard = exposure["rollout"].get("guard") or {}
    line = f"scalper routing: {routing['mode']} (venue share {routing['venue_share']:.0%})"
    if executor.get("executor_canary_fraction_realized") is not None:
        line += f", realised {executor['executor_canary_fraction_realized']:.1%}"
    if guard.get("winrate_canary") is not None:
        line += (
            f", canary win {guard['winrate_canary']:.1%} vs baseline "
            f"{guard.get('winrate_baseline_active') or 0:.1%} ({guard.get('sample_canary')} trades)"
        )
    console.print(line)
    for r in exposure["rollout"]["releases"][:3]:
        console.print(f"release {r['model_id']}: {r['stage']} {r['outcome'] or ''}".rstrip())


def _since(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h{minutes:02d}m"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"
