"""``tradeloop ingest``, ``verify`` and ``repair``: batch ingestion under governance."""

from __future__ import annotations

import json
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.dates import parse_range
from tradeloop.cli.errors import EXIT_FAILED, EXIT_RETRY, handled_errors
from tradeloop.cli.progress import CommandProgress
from tradeloop.cli.symbols import parse_symbols
from tradeloop.core.errors import ConfigError
from tradeloop.core.ids import new_run_id
from tradeloop.core.time import NS_PER_DAY, iso_from_ns
from tradeloop.data.ingest_mode import IngestMode

if TYPE_CHECKING:
    from tradeloop.bootstrap.app import App
    from tradeloop.data.ingest import IngestPlan, RunSummary
    from tradeloop.data.ports import SymbolOutcome

ConfigOption = Annotated[Path | None, typer.Option(help="config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _day(value: int) -> int:
    return value - value % NS_PER_DAY


def _today_ns() -> int:
    now = time.time_ns()
    return now - now % NS_PER_DAY


def _summary_json(summary: RunSummary) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "mode": summary.mode.value,
        "status": summary.status,
        "rows_written": summary.rows_written,
        "alert": summary.alert,
        "seconds": round(summary.seconds, 3),
        "symbols": [
            {
                "symbol": o.symbol,
                "decision": o.decision,
                "state": o.state.value,
                "provider": o.provider,
                "rows": o.quality.rows,
                "quality": round(o.quality.score, 6),
                "reason": o.reason,
                "attempts": [
                    {"provider": a.provider, "outcome": a.outcome, "detail": a.detail}
                    for a in o.attempts
                ],
            }
            for o in summary.outcomes
        ],
    }


def _print_summary(summary: RunSummary, console: Console) -> None:
    table = Table(title=f"ingest {summary.mode.value} - run {summary.run_id} - {summary.status}")
    for column in ("symbol", "decision", "state", "provider", "rows", "quality"):
        table.add_column(column, overflow="fold")
    colours = {"ACTIVE": "green", "DEGRADED": "yellow", "QUARANTINED": "red"}
    for o in summary.outcomes:
        colour = colours.get(o.state.value, "white")
        table.add_row(
            o.symbol,
            o.decision,
            f"[{colour}]{o.state.value}[/]",
            o.provider or "-",
            str(o.quality.rows),
            f"{o.quality.score:.3f}",
        )
    console.print(table)
    width = min(console.width, 100)
    for o in summary.outcomes:
        if o.reason and o.decision not in ("OK", "VERIFIED", "UP_TO_DATE"):
            lines = textwrap.wrap(o.reason, width - 2, initial_indent=f"{o.symbol}: ")
            console.print("\n".join(lines), highlight=False, markup=False)
    console.print(f"{summary.rows_written} rows written in {summary.seconds:.1f} s")
    if summary.alert:
        console.print(f"[red]ALERT[/] {summary.alert}")


def _run(
    app: App, plan: IngestPlan, workers: int | None, cluster: str | None, as_json: bool
) -> RunSummary:
    from tradeloop.monitor.ingest_metrics import write_ingest_metrics
    from tradeloop.ops.dask_fetch import dask_fetch_map, local_cluster_pays

    run_id = new_run_id("ingest")
    if workers and not cluster:
        chosen = local_cluster_pays(
            workers, len(plan.entries), app.fetches_over_http(plan.provider)
        )
        workers = chosen.workers or None
        Console(stderr=True, highlight=False).print(chosen.note, markup=False)
    with ExitStack() as stack:
        progress = stack.enter_context(CommandProgress("ingest", len(plan.entries), quiet=as_json))

        def on_symbol(outcome: SymbolOutcome) -> None:
            progress.advance(note=f"{outcome.symbol} {outcome.state.value}")

        fetch_map, processes = None, 1
        if workers or cluster:
            mapper = dask_fetch_map(address=cluster) if cluster else dask_fetch_map(workers=workers)
            dask = stack.enter_context(mapper)
            fetch_map, processes = dask.map, dask.workers
        summary = app.ingestor(on_symbol).run(
            plan, fetcher=app.fetcher(run_id, processes), fetch_map=fetch_map, run_id=run_id
        )
    write_ingest_metrics(summary, app.settings.home / "metrics" / "ingest.prom")
    return summary


def _check_provider(app: App, provider: str | None) -> None:
    if provider and provider not in app.config.ingest.capabilities:
        raise ConfigError(
            f"--provider {provider!r} has no capability entry; known: "
            f"{sorted(app.config.ingest.capabilities)}"
        )


def _unreachable(summary: RunSummary) -> bool:
    """Every refused symbol failed because no provider answered (network, rate limits):
    a transient failure, not a verdict on the data."""
    refused = summary.rejected
    return bool(refused) and all(
        o.attempts and all(a.outcome in ("RETRY_EXHAUSTED", "SKIPPED") for a in o.attempts)
        for o in refused
    )


def _report(summary: RunSummary, as_json: bool) -> None:
    """Print the run (JSON or a table); exit 1 unless every symbol was fine, 3 when no
    provider could be reached."""
    if as_json:
        print(json.dumps(_summary_json(summary), indent=2))
    else:
        _print_summary(summary, Console())
    if summary.status == "OK":
        return
    if _unreachable(summary):
        if not as_json:
            Console(stderr=True).print(
                "no provider could be reached (no network?): retry later, or run "
                "tradeloop ingest --offline (bundled real history, then the seeded "
                "synthetic market)",
                highlight=False,
                soft_wrap=True,  # one line a script or a person can search for the fix in
            )
        raise typer.Exit(EXIT_RETRY)
    raise typer.Exit(EXIT_FAILED)


def ingest(
    mode: Annotated[IngestMode, typer.Option(help="deep_backfill | incremental | verify")] = (
        IngestMode.DEEP_BACKFILL
    ),
    tickers: Annotated[
        str | None, typer.Option(help="comma-separated subset of the universe")
    ] = None,
    start: Annotated[str | None, typer.Option(help="first day (ISO), with --end")] = None,
    end: Annotated[str | None, typer.Option(help="last day / as_of (ISO); default today")] = None,
    provider: Annotated[str | None, typer.Option(help="use only this provider")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="up to this many local Dask workers, started only when they pay: HTTP "
            "providers and 15 symbols or more per worker",
        ),
    ] = None,
    cluster: Annotated[str | None, typer.Option(help="Dask scheduler address")] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="no network: bundled real history first, then the seeded market"
        ),
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest daily history for the universe under provider and symbol governance.

    deep_backfill loads the last 1,260 sessions ending at --end (or --start..--end);
    incremental fetches only what is missing since the last stored bar; verify re-scores
    stored data and updates governance without fetching.

    Examples:

      tradeloop ingest --mode deep_backfill

      tradeloop ingest --mode incremental --tickers SPY,AAPL

      tradeloop ingest --mode deep_backfill --end 2024-12-31 --workers 4   # 60+ symbols, HTTP

      tradeloop ingest --offline       # a machine without the internet

    Exit codes: 0 every symbol ingested, 1 some refused (quality, governance), 2 bad input,
    3 no provider answered (retry later, or --offline).
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.data.ingest import IngestPlan
    from tradeloop.settings import load_settings

    with handled_errors():
        if mode is IngestMode.REPAIR:
            raise ConfigError("--mode repair: use `tradeloop repair --symbol S --from D --to D`")
        if workers and cluster:
            raise ConfigError("--workers and --cluster exclude each other; pick one")
        if start and not end:
            raise ConfigError("--start needs --end (a custom range is closed on both sides)")
        first, last = parse_range(start, end)
        selected = parse_symbols(tickers) if tickers is not None else None
        app = build_app(load_settings(), config)
        if offline:
            app = app.offline()
        plan = IngestPlan(
            mode=mode,
            entries=app.universe().select(selected),
            as_of_ns=_day(last) if last is not None else _today_ns(),
            start_ns=_day(first) if first is not None else None,
            provider=provider,
        )
        _check_provider(app, provider)
        summary = _run(app, plan, workers, cluster, as_json)
    _report(summary, as_json)


def repair(
    symbol: Annotated[str, typer.Option(help="symbol of the universe")],
    from_: Annotated[str, typer.Option("--from", help="first day (ISO)")],
    to: Annotated[str, typer.Option(help="last day (ISO)")],
    provider: Annotated[str | None, typer.Option(help="use only this provider")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-ingest one symbol's range idempotently, then re-evaluate its governance.

    Example:

      tradeloop repair --symbol AAPL --from 2022-01-01 --to 2022-06-01
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.data.ingest import IngestPlan
    from tradeloop.settings import load_settings

    with handled_errors():
        first, last = parse_range(from_, to, ("--from", "--to"))
        start, stop = _day(first or 0), _day(last or 0)  # both options are required
        app = build_app(load_settings(), config)
        _check_provider(app, provider)
        plan = IngestPlan(
            IngestMode.REPAIR, app.universe().select((symbol,)), stop, start, provider
        )
        summary = _run(app, plan, None, None, as_json)
    _report(summary, as_json)


def verify(
    history: Annotated[bool, typer.Option("--history", help="rows per symbol")] = False,
    quality: Annotated[bool, typer.Option("--quality", help="latest quality scores")] = False,
    governance: Annotated[bool, typer.Option("--governance", help="state counts")] = False,
    symbols: Annotated[bool, typer.Option("--symbols", help="failed symbols")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="exit 1 on any failure")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check stored history, quality and governance against the universe (reads only).

    Without a section flag every section is checked. JSON output is stable (version 1,
    documented in tradeloop.data.verification).

    Examples:

      tradeloop verify

      tradeloop verify --symbols --json

      tradeloop verify --strict && tradeloop demo
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.data.verification import SECTIONS, verify_report
    from tradeloop.settings import load_settings

    with handled_errors():
        app = build_app(load_settings(), config, read_only=True)
        universe = app.universe()
        chosen = [
            name
            for name, on in zip(SECTIONS, (history, quality, governance, symbols), strict=True)
            if on
        ] or list(SECTIONS)
        report = verify_report(
            app.ingest_store().snapshot(),
            universe.symbols,
            app.config.ingest.required_rows,
            chosen,
            app.config.quality.min_score,
        )
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print_verify(report)
    if strict and not report["ok"]:
        raise typer.Exit(EXIT_FAILED)


def _print_verify(report: dict[str, Any]) -> None:
    console = Console()
    for name, check in report["checks"].items():
        mark = "[green]PASS[/]" if check["ok"] else "[red]FAIL[/]"
        console.print(f"{mark} {name}")
        if name == "governance":
            console.print("     " + ", ".join(f"{k}: {v}" for k, v in check["counts"].items()))
        if name == "quality" and check.get("average") is not None:
            console.print(f"     average quality {check['average']:.3f}")
        for failure in check.get("failures", []):
            console.print("     " + ", ".join(f"{k}={v}" for k, v in failure.items()))
    console.print("[green]all checks passed[/]" if report["ok"] else "[red]checks failed[/]")


__all__ = ["ingest", "iso_from_ns", "repair", "verify"]
