"""``tradeloop collect``, ``labels build`` and ``export``: the pivot-event data path."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.dates import parse_date
from tradeloop.cli.errors import handled_errors
from tradeloop.cli.progress import CommandProgress
from tradeloop.cli.symbols import parse_symbols
from tradeloop.core.durations import parse_duration_sec
from tradeloop.core.errors import ConfigError
from tradeloop.core.time import iso_from_ns

if TYPE_CHECKING:
    pass

ConfigOption = Annotated[Path | None, typer.Option(help="config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600}


def collect(
    source: Annotated[
        str | None, typer.Option(help="yahoo | synthetic | bundled | replay | ...")
    ] = None,
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols")] = None,
    poll_sec: Annotated[float | None, typer.Option(help="seconds between polls")] = None,
    range_: Annotated[
        str | None, typer.Option("--range", help="look-back of each poll: 1d, 30d")
    ] = None,
    interval: Annotated[str, typer.Option(help="bar size: 1m, 5m, 15m, 30m, 1h")] = "1m",
    once: Annotated[bool, typer.Option("--once", help="poll once and exit")] = False,
    host: Annotated[str | None, typer.Option(help="bind address of /health")] = None,
    port: Annotated[int | None, typer.Option(help="port of /health", min=1, max=65535)] = None,
    speed: Annotated[float | None, typer.Option(help="replay: market seconds per second")] = None,
    replay_source: Annotated[
        str, typer.Option(help="replay: where the bars come from")
    ] = "synthetic",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Collect intraday bars, detect pivot touch events, serve /health and /metrics.

    Defaults come from the config's collector section and LIVE_COLLECTOR_* variables
    (source yahoo, symbols SPY, poll 45 s, range 1d, 127.0.0.1:5004).

    Examples:

      tradeloop collect --source synthetic --symbols SPY --range 30d --once

      tradeloop collect --source bundled --symbols EURUSD=X --interval 1h --range 400d --once

      tradeloop collect --source replay --speed 600 --port 5004
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.collector_source import build_collector, collector_settings
    from tradeloop.settings import load_settings
    from tradeloop.usecases.collector import HealthServer

    with handled_errors():
        app = build_app(load_settings(), config)
        updates = _collector_updates(interval, source, symbols, poll_sec, range_)
        for key, value in (("host", host), ("port", port), ("replay_speed", speed)):
            if value is not None:
                updates[key] = value
        settings = collector_settings(app, updates)
        collector = build_collector(app, settings, replay_source)
        clock = collector.clock_ns
        if once:
            with CommandProgress("collect", len(settings.symbols), quiet=as_json) as progress:
                results = collector.poll(
                    lambda result: progress.advance(note=f"{result.symbol} +{result.bars_new} bars")
                )
        else:
            server = HealthServer(
                settings.host,
                settings.port,
                lambda: collector.health.snapshot(clock()),
                collector.metrics,
            )
            server.start()
            Console(stderr=True).print(
                f"collector: {settings.source} {','.join(settings.symbols)} every "
                f"{settings.poll_s:g} s; health on http://{server.address[0]}:{server.address[1]}/health"
            )
            signal.signal(signal.SIGTERM, lambda *_: collector.stop())
            try:
                collector.run()
            except KeyboardInterrupt:
                collector.stop()
            finally:
                server.stop()
            return
    snapshot = collector.health.snapshot(clock())
    if as_json:
        print(json.dumps(snapshot, indent=2))
    else:
        table = Table(title=f"collect --once from {settings.source}: {snapshot['status']}")
        for column in ("symbol", "new bars", "new events", "last bar"):
            table.add_column(column)
        for result in results:
            last = iso_from_ns(result.last_bar_ts) if result.last_bar_ts else "-"
            table.add_row(result.symbol, str(result.bars_new), str(result.events_new), last)
        Console().print(table)
    if snapshot["consecutive_errors"]:
        if not as_json:
            Console(stderr=True).print(f"error: {snapshot['last_error']}")
        raise typer.Exit(2 if collector.health.last_error_needs_operator else 3)


def _collector_updates(
    interval: str,
    source: str | None,
    symbols: str | None,
    poll_sec: float | None,
    range_: str | None,
) -> dict[str, Any]:
    if interval not in INTERVALS:
        raise ConfigError(f"--interval {interval!r}: use one of {', '.join(INTERVALS)}")
    updates: dict[str, Any] = {"bar_interval_s": INTERVALS[interval]}
    if source:
        updates["source"] = source
    if symbols is not None:
        updates["symbols"] = parse_symbols(symbols, "--symbols")
    if poll_sec is not None:
        updates["poll_s"] = poll_sec
    if range_:
        try:
            updates["range_days"] = parse_duration_sec(range_) / 86_400
        except ValueError as exc:
            raise ConfigError(f"--range: {exc}") from None
    return updates


labels_app = typer.Typer(
    help="Event labels.\n\nExample:\n\n  tradeloop labels build", no_args_is_help=True
)


@labels_app.command("build")
def labels_build(
    as_of: Annotated[str | None, typer.Option(help="only bars closed by then (ISO)")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mature every stored event's outcomes at the configured horizons (idempotent)."""
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings
    from tradeloop.usecases.event_lake import build_labels

    with handled_errors():
        as_of_ns = parse_date(as_of, "--as-of") if as_of else None
        app = build_app(load_settings(), config)
        summary = build_labels(app.event_store(), app.ingest_store(), app.config.labels, as_of_ns)
    print(
        json.dumps(summary)
        if as_json
        else f"{summary['labels_written']} labels for {summary['events']} events"
    )


def export(
    check: Annotated[bool, typer.Option("--check", help="verify checksums and schema")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write events, features and labels to the Parquet/DuckDB lake (incremental).

    Examples:

      tradeloop export

      tradeloop export --check
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings
    from tradeloop.usecases.event_lake import check_lake, export_events

    with handled_errors():
        app = build_app(load_settings(), config)
        lake = app.settings.home / "lake"
        if check:
            problems = check_lake(lake)
            result: dict[str, Any] = {"ok": not problems, "problems": problems}
        else:
            result = export_events(app.event_store(), lake)
    print(json.dumps(result, indent=2, default=str) if as_json else _describe(result))
    if check and not result["ok"]:
        raise typer.Exit(1)


def _describe(result: dict[str, Any]) -> str:
    if "problems" in result:
        return "lake OK" if result["ok"] else "\n".join(["lake problems:", *result["problems"]])
    return (
        f"{result['events']} events, {result['labels']} labels; "
        f"{result['partitions_written']} partition(s) written, "
        f"{result['partitions_unchanged']} unchanged; DuckDB at {result['duckdb']}"
    )
