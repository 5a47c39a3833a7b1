"""``tradeloop tools``: the scalper's advanced toolkit."""

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
        "The scalper's advanced toolkit: fill curves, execution Monte Carlo, a "
        "precision-first search, regime thresholds, data-health and config checks, "
        "profiling.\n\n"
        "Examples:\n\n"
        "  tradeloop tools calibrate-fills --out var/reports/fill_curves.json\n\n"
        "  tradeloop tools simulate-execution --fills var/reports/fill_curves.json\n\n"
        "  tradeloop tools hpo --trials 40 --out var/reports/hpo.json\n\n"
        "  tradeloop tools thresholds --out var/reports/thresholds.json\n\n"
        "  tradeloop tools scan-gaps --max-gap-ms 2000\n\n"
        "  tradeloop tools validate-symbols\n\n"
        "  tradeloop tools validate-config tradeloop.yaml\n\n"
        "  tradeloop tools profile -- scalper run --max-messages 5000\n\n"
        "Exit codes: 0 ok, 1 the check found problems, 2 bad input or missing data."
    ),
    no_args_is_help=True,
)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
OutOption = Annotated[Path | None, typer.Option("--out", help="also write the JSON report here")]
SymbolOption = Annotated[
    str | None, typer.Option("--symbol", help="archived symbol (default: the first configured)")
]


def _app(config: Path | None) -> Any:
    from tradeloop.bootstrap.scalper import scalper_app

    return scalper_app(config)


def _emit(report: dict[str, Any], out: Path | None, as_json: bool, console: Console) -> None:
    text = json.dumps(report, indent=2, sort_keys=True, default=str)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        console.print(f"written: {out}")
    if as_json:
        print(text)


@app.command("calibrate-fills")
def calibrate_fills(
    run: Annotated[
        str, typer.Option("--run", help="journal run: scalper-paper or scalper-real")
    ] = ("scalper-paper"),
    out: OutOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Empirical fill curves from the journal's limit orders and fills: per side, the
    share filled within 100 ms .. 10 s of being sent (orders still open are censored), the
    share filled in full and the mean filled fraction. simulate-execution --fills uses it."""
    from tradeloop.bootstrap.scalper_tools import calibrate_fills as calibrate

    console = Console(highlight=False, stderr=as_json)
    with handled_errors():
        report = calibrate(_app(config), run)
    table = Table(title=f"fill curves of {run}")
    table.add_column("side")
    table.add_column("orders", justify="right")
    for h in report["horizons_ms"]:
        table.add_column(f"<= {h} ms", justify="right")
    for side, entry in report["sides"].items():
        cells = ["-" if p is None else f"{p:.1%}" for p in entry["fill_probability"]]
        table.add_row(side, str(entry["orders"]), *cells)
    if not as_json:
        console.print(table)
    _emit(report, out, as_json, console)


@app.command("simulate-execution")
def simulate_execution(
    fills: Annotated[
        Path | None, typer.Option("--fills", help="fill curves from calibrate-fills")
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Monte-Carlo runs")] = 200,
    orders: Annotated[int, typer.Option(min=1, help="orders per run")] = 100,
    latency_ms: Annotated[float, typer.Option(min=0.001, help="median latency")] = 5.0,
    latency_sigma: Annotated[float, typer.Option(min=0, help="lognormal shape")] = 0.6,
    shock_probability: Annotated[float, typer.Option(min=0, max=1)] = 0.02,
    shock_bps: Annotated[float, typer.Option(min=0)] = 10.0,
    hold_ms: Annotated[int, typer.Option(min=1, help="markout horizon")] = 1_000,
    fee_bps: Annotated[float, typer.Option(min=0, help="per side")] = 2.0,
    seed: int = 7,
    symbol: SymbolOption = None,
    out: OutOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Monte Carlo of latency and shocks over the archived tape: fill rate, net markout
    (bps after fees) and latency, as percentiles across runs (a JSON report)."""
    from tradeloop.bootstrap.scalper_tools import simulate
    from tradeloop.core.errors import DataError
    from tradeloop.execution.fill_model import SimulationParams

    console = Console(highlight=False, stderr=as_json)
    with handled_errors():
        curves = None
        if fills is not None:
            try:
                curves = json.loads(fills.read_text())
            except (OSError, ValueError) as exc:
                raise DataError(f"--fills {fills}: {exc}. Fix: run calibrate-fills --out") from None
        params = SimulationParams(runs, orders, latency_ms, latency_sigma, shock_probability,
                                  shock_bps, hold_ms, fee_bps, seed)  # fmt: skip
        report = simulate(_app(config), symbol, params, curves)
    if not as_json:
        table = Table(title=f"{runs} runs x {orders} orders on {report['symbol']}")
        for column in ("figure", "p5", "p50", "p95"):
            table.add_column(column, justify="right")
        for name in ("fill_rate", "net_markout_bps", "latency_ms"):
            row = report[name]
            table.add_row(name, *("-" if row[k] is None else f"{row[k]:.3f}"
                                  for k in ("p5", "p50", "p95")))  # fmt: skip
        console.print(table)
    _emit(report, out, as_json, console)


@app.command("hpo")
def hpo(
    trials: Annotated[int, typer.Option(min=1)] = 40,
    horizon_ms: Annotated[int, typer.Option(min=1, help="label horizon")] = 1_000,
    cost_bps: Annotated[float, typer.Option(min=0, help="a win must beat this")] = 1.0,
    min_signals: Annotated[int, typer.Option(min=1, help="fewer is penalised")] = 50,
    top: Annotated[int, typer.Option(min=1, help="trials to export")] = 5,
    seed: int = 7,
    symbol: SymbolOption = None,
    out: OutOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Precision-first Optuna search (TPE, seeded) of the signal engine's levels, minimum
    imbalance, cooldown and tau_entry on the archived tape; exports the top trials."""
    from tradeloop.bootstrap.scalper_tools import tape_of
    from tradeloop.usecases.scalper_research import Search, search_signal

    console = Console(highlight=False, stderr=True)
    with handled_errors():
        app_ = _app(config)
        chosen, tape = tape_of(app_, symbol)
        search = Search(trials, horizon_ms, cost_bps, min_signals, seed)
        results = search_signal(
            tape, app_.config.scalper.ai_scorer, search,
            progress=lambda n, v: console.print(f"trial {n}/{trials}: precision {v:.3f}")
            if n % 10 == 0 else None,
        )  # fmt: skip
    best: list[dict[str, Any]] = results[:top]
    report: dict[str, Any] = {"symbol": chosen, "horizon_ms": horizon_ms, "cost_bps": cost_bps,
                              "trials": trials, "top": best}  # fmt: skip
    if not as_json:
        table = Table(title=f"top {top} of {trials} trials on {chosen}")
        for column in ("trial", "precision", "signals", "levels", "min_imbalance",
                       "cooldown_ms", "tau_entry"):  # fmt: skip
            table.add_column(column, justify="right")
        for t in best:
            table.add_row(str(t["trial"]), f"{t['precision']:.3f}", str(t["signals"]),
                          str(t["levels"]), f"{t['min_imbalance']:.3f}", str(t["cooldown_ms"]),
                          f"{t['tau_entry']:.3f}")  # fmt: skip
        Console(highlight=False).print(table)
    _emit(report, out, as_json, Console(highlight=False, stderr=as_json))


@app.command("thresholds")
def thresholds(
    horizon_ms: Annotated[int, typer.Option(min=1, help="label horizon")] = 1_000,
    cost_bps: Annotated[float, typer.Option(min=0)] = 1.0,
    min_support: Annotated[int, typer.Option(min=1, help="signals a threshold must keep")] = 30,
    symbol: SymbolOption = None,
    out: OutOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Entry thresholds per volatility regime (calm / normal / volatile terciles): the
    tau_entry sweep's most precise value that keeps --min-support signals."""
    from tradeloop.bootstrap.scalper_tools import tape_of
    from tradeloop.usecases.scalper_research import label_candidates, regime_thresholds

    console = Console(highlight=False, stderr=as_json)
    with handled_errors():
        app_ = _app(config)
        chosen, tape = tape_of(app_, symbol)
        scalper = app_.config.scalper
        labelled = label_candidates(tape, scalper.signal, horizon_ms)
        try:
            report = regime_thresholds(labelled, scalper.ai_scorer, cost_bps=cost_bps,
                                       min_support=min_support)  # fmt: skip
        except ValueError as exc:
            from tradeloop.core.errors import DataError

            raise DataError(str(exc)) from None
    report.update(symbol=chosen, horizon_ms=horizon_ms, candidates=int(labelled.ts.size))
    if not as_json:
        table = Table(title=f"thresholds on {chosen} ({report['candidates']} candidates)")
        for column in ("regime", "tau_entry", "precision", "support"):
            table.add_column(column, justify="right")
        for name, entry in report["regimes"].items():
            tau, value = entry["tau_entry"], entry["precision"]
            shown_tau = "-" if tau is None else f"{tau:.3f}"
            shown_value = "-" if value is None else f"{value:.3f}"
            table.add_row(name, shown_tau, shown_value, str(entry["support"]))
        console.print(table)
    _emit(report, out, as_json, console)


@app.command("scan-gaps")
def scan_gaps(
    root: Annotated[Path | None, typer.Option("--root", help="archive root")] = None,
    max_gap_ms: Annotated[float | None, typer.Option(min=1)] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Gaps in the Parquet tick archive (default var/lake/ticks): silences over
    --max-gap-ms (default scalper.data_health.max_gap_ms), missing days, unreadable files.
    Exit 1 when any is found."""
    from tradeloop.bootstrap.scalper_tools import scan

    console = Console(highlight=False)
    with handled_errors():
        report = scan(_app(config), root, max_gap_ms)
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        for symbol, rows in report["rows"].items():
            console.print(f"{symbol}: {rows:,} timestamps, longest gap "
                          f"{report['largest_gap_ms'][symbol]:,.0f} ms, missing days "
                          f"{report['missing_dates'].get(symbol) or 'none'}")  # fmt: skip
        for gap in report["gaps"][:50]:
            console.print(f"  gap {gap['symbol']} {gap['ms']:,.0f} ms from {gap['start_ns']}")
        for problem in report["unreadable"]:
            console.print(f"  unreadable: {problem}")
    if not report["clean"]:
        raise typer.Exit(1)


@app.command("validate-symbols")
def validate_symbols(
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="CSV: symbol,lot_size,tick_size,min_qty,"
            "maker_fee,taker_fee (default: the bundled Bybit table)",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare scalper.instruments (lot size, tick size, minimum, maker / taker fee) with
    the venue's reference table. Exit 1 on any mismatch."""
    from tradeloop.bootstrap.scalper_tools import validate_symbols as validate

    with handled_errors():
        report = validate(_app(config), reference)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        console = Console(highlight=False)
        console.print(f"{len(report['instruments'])} instruments against {report['reference']}")
        for line in report["mismatches"] or ["no mismatch"]:
            console.print(f"  {line}")
    if report["mismatches"]:
        raise typer.Exit(1)


@app.command("validate-config")
def validate_config(
    path: Annotated[Path, typer.Argument(help="the config file")] = Path("tradeloop.yaml"),
    profile: Annotated[str | None, typer.Option("--profile", help="profile to lay under it")] = (
        "scalper"
    ),
    as_json: JsonOption = False,
) -> None:
    """Validate a config file against the schema (every section, the scalper's included):
    the first problem with its file, key, value and fix, exit 2; else exit 0."""
    from tradeloop.bootstrap.scalper_tools import validate_config as validate
    from tradeloop.core.errors import ConfigError

    with handled_errors():
        if not path.exists():
            raise ConfigError(f"{path}: no such file. Fix: tradeloop config example > {path}")
        report = validate(path, profile)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        Console(highlight=False).print(f"{path}: valid ({report['source']})")


@app.command("profile", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def profile(
    context: typer.Context,
    module: Annotated[str, typer.Option("--module", help="entry point run with python -m")] = (
        "tradeloop.cli"
    ),
    top: Annotated[int, typer.Option(min=1, help="functions shown")] = 25,
    sort: Annotated[str, typer.Option(help="cumulative, tottime or calls")] = "cumulative",
    out: Annotated[Path, typer.Option("--out", help="the pstats file")] = Path(
        "var/reports/profile.pstats"
    ),
    timeout: Annotated[float | None, typer.Option(help="seconds before giving up")] = None,
) -> None:
    """cProfile any entry point for latency budgeting: the arguments after -- go to it.

    Examples: tradeloop tools profile -- scalper run --max-messages 5000

    tradeloop tools profile --module tradeloop.services.collector -- --max-messages 2000
    """
    from tradeloop.bootstrap.scalper_tools import profile_entry_point
    from tradeloop.core.errors import ConfigError

    with handled_errors():
        if sort not in ("cumulative", "tottime", "calls"):
            raise ConfigError(f"--sort {sort!r}: choose cumulative, tottime or calls")
        out.parent.mkdir(parents=True, exist_ok=True)
        text, code = profile_entry_point(module, list(context.args), out, top, sort, timeout)
    print(text)
    print(f"profile written to {out} (exit code of the run: {code})")
