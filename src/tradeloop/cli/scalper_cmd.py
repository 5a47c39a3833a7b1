"""``tradeloop scalper``: the scalper's stream topology in one process, and its services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors

app = typer.Typer(
    help=(
        "The scalper: collector -> signal engine -> ai_scorer -> risk -> executor over "
        "streams (config section `scalper`, risk limits in `risk`).\n\n"
        "Examples:\n\n"
        "  tradeloop scalper run --max-messages 20000 --rate max\n\n"
        "  tradeloop scalper run --json\n\n"
        "  tradeloop up --profile paper          # the five services on Redis, supervised\n\n"
        "  TRADELOOP_REDIS_URL=redis://127.0.0.1:6379/0 python -m tradeloop.services.executor\n\n"
        "Exit codes: 0 ok, 2 bad input or config, 3 Redis or the venue unreachable."
    ),
    no_args_is_help=True,
)


@app.command("run")
def run(
    max_messages: Annotated[
        int | None, typer.Option("--max-messages", help="stop after this many market messages")
    ] = 20_000,
    rate: Annotated[
        str,
        typer.Option(
            "--rate",
            help="tape steps per second per symbol: a number, 'live' (the tape's "
            "own interval) or 'max'",
        ),
    ] = "max",
    start: Annotated[
        str | None,
        typer.Option("--start", help="synthetic tape's first event time (ISO; default: now)"),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable summary")] = False,
) -> None:
    """Run every stage in this process on the in-process bus (no Redis needed): the
    synthetic tape (or Bybit, `scalper.source`) through the signal engine, the scorer,
    the risk screen and the executor on the paper simulator (EXCHANGE_MODE=paper). The
    tape is archived to var/lake/ticks; the summary shows what each stage did, the
    drops by reason, orders, fills and the data-health checks. Ctrl-C stops cleanly.
    """
    import signal
    import time

    from tradeloop.bootstrap.scalper import run_single_process, scalper_app
    from tradeloop.cli.dates import parse_date
    from tradeloop.core.errors import ConfigError

    console = Console(highlight=False, stderr=as_json)
    stop = {"requested": False}
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__("requested", True))
    with handled_errors():
        start_ns = parse_date(start, "--start") if start else None
        app_ = scalper_app(config)
        interval = app_.config.scalper.synthetic.interval_ms
        steps = {"max": None, "live": 1000 / interval}.get(rate)
        if steps is None and rate not in ("max", "live"):
            try:
                steps = float(rate)
            except ValueError:
                raise ConfigError(f"--rate {rate!r}: a number, 'live' or 'max'") from None
            if steps <= 0:
                raise ConfigError(f"--rate {rate!r}: must be > 0 (or 'max')")
        last = [time.monotonic()]

        def progress(stats: Any) -> None:
            if time.monotonic() - last[0] >= 10:
                last[0] = time.monotonic()
                console.print(f"{stats.market_messages:,} market messages; {stats.handled}")

        summary = run_single_process(
            app_,
            max_messages=max_messages,
            steps_per_s=steps,
            start_ns=start_ns,
            should_stop=lambda: stop["requested"],
            on_batch=progress,
        )
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
        return
    _print_summary(console, summary)


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title=f"scalper run: {summary['market_messages']:,} market messages")
    table.add_column("stage")
    table.add_column("handled", justify="right")
    table.add_column("result")
    for name, counters in summary["stages"].items():
        result = ", ".join(
            f"{k} {v:,}"
            for k, v in counters.items()
            if k in ("candidates", "scored", "approved", "passed", "sent")
        )
        table.add_row(name, f"{counters['handled']:,}", result)
    console.print(table)
    drops = Table(title="drops by stage and reason")
    drops.add_column("stage: reason")
    drops.add_column("signals", justify="right")
    for reason, count in sorted(summary["drops"].items(), key=lambda kv: -kv[1]):
        drops.add_row(reason, f"{count:,}")
    console.print(drops)
    console.print(f"orders {summary['orders']:,}, fills {summary['fills']:,}")
    if "paper" in summary:
        console.print(f"paper account: {summary['paper']}")
    latency = summary.get("latency_ms") or {}
    if latency:
        console.print(
            f"market data -> order sent: p50 {latency['p50']:.3f} ms, p99 {latency['p99']:.3f} ms"
        )
    health = summary["health"]
    console.print(
        "data health: longest gaps "
        f"{health.get('parquet_gap_detected_ms', {})} ms, reference mismatches "
        f"{health['exchange_reference_mismatches'] or 'none'}"
    )


@app.command("train")
def train(
    symbol: Annotated[str | None, typer.Option(help="archived symbol (default: the first)")] = None,
    horizon_ms: Annotated[
        int, typer.Option(min=1, help="a candidate wins when the mid moved its way this much later")
    ] = 1_000,
    cost_bps: Annotated[float, typer.Option(min=0, help="... by more than this")] = 1.0,
    tau_entry: Annotated[
        float | None,
        typer.Option(help="approve at P >= this (default: scalper.ai_scorer.tau_entry)"),
    ] = None,
    tau_hold: Annotated[float, typer.Option(help="keep a position while P >= this")] = 0.5,
    seed: Annotated[int, typer.Option(help="training seed")] = 7,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Train the candidate classifier on the archived tape (var/lake/ticks: what `scalper
    run` or the collector recorded) and register it as the scalper model's candidate, with
    its PR-AUC, precision, thresholds, parity rows and the regimes it covered. Release it
    with `tradeloop release --shadow-id MODEL_ID`.

    Example: tradeloop scalper train --horizon-ms 1000 --cost-bps 1 --json

    Exit codes: 0 registered, 2 no tape or too few candidates.
    """
    from tradeloop.bootstrap.scalper import scalper_app
    from tradeloop.bootstrap.scalper_tools import tape_of
    from tradeloop.usecases.scalper_training import TrainRequest, train_scalper_model

    with handled_errors():
        application = scalper_app(config)
        chosen, tape = tape_of(application, symbol)
        scorer = application.config.scalper.ai_scorer
        request = TrainRequest(
            scorer.registry_name,
            chosen,
            horizon_ms,
            cost_bps,
            tau_entry or scorer.tau_entry,
            tau_hold,
            seed,
        )
        version, manifest = train_scalper_model(
            application.registry(), tape, application.config.scalper.signal, request
        )
    body = {
        "model_version_id": version,
        "name": request.name,
        "metrics": manifest["metrics"],
        "thresholds": manifest["thresholds"],
        "regimes": manifest["regimes"],
        "evaluation_window": manifest["evaluation_window"],
    }
    if as_json:
        print(json.dumps(body, indent=2))
        return
    console = Console()
    metrics = manifest["metrics"]
    console.print(
        f"registered {request.name} {version} (candidate): PR-AUC {metrics['pr_auc']:.3f}, "
        f"precision {metrics['precision']:.3f} at tau {request.tau_entry:g} on "
        f"{metrics['samples']:.0f} held-out candidates"
    )
    console.print(f"next: tradeloop release --shadow-id {version}")
