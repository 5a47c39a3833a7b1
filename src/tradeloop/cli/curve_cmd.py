"""``tradeloop curve``: the 100-horizon prediction curve: train, predict, its skill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors
from tradeloop.cli.progress import CommandProgress
from tradeloop.cli.symbols import parse_symbols

app = typer.Typer(
    help=(
        "The prediction curve: expected cumulative return 1..100 sessions ahead, with its "
        "uncertainty, optimal horizon, risk score and direction (config section `curve`).\n\n"
        "Examples:\n\n"
        "  tradeloop curve train --symbols AAPL,MSFT,GOOGL,TSLA,NVDA\n\n"
        "  tradeloop models promote candidate --name curve --to active\n\n"
        "  tradeloop curve predict AAPL\n\n"
        "  tradeloop curve skill\n\n"
        "Exit codes: 0 ok, 2 bad input or missing data."
    ),
    no_args_is_help=True,
)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command("train")
def train(
    symbols: Annotated[str, typer.Option("--symbols", help="comma-separated symbols")] = (
        "AAPL,MSFT,GOOGL,TSLA,NVDA"
    ),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="train on labels matured by then (default: now)")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the curve on the stored daily bars (LightGBM per anchor horizon: the mean and
    a 16/84 % quantile band), report its out-of-sample skill per horizon against the zero
    and drift curves, export to ONNX with a parity check and register one version aliased
    `candidate`. Needs the symbols and the market / growth series (curve.market,
    curve.growth; SPY and QQQ by default) stored: tradeloop ingest.
    """
    import time

    from tradeloop.bootstrap.app import build_app
    from tradeloop.cli.dates import parse_date
    from tradeloop.settings import load_settings
    from tradeloop.usecases.curve_training import train_and_register_curve

    with handled_errors():
        chosen = list(parse_symbols(symbols, "--symbols"))
        as_of_ns = parse_date(as_of, "--as-of") if as_of else time.time_ns()
        application = build_app(load_settings(), config)
        settings = application.config.curve
        with CommandProgress("curve train", len(settings.anchors), quiet=as_json) as progress:
            outcome = train_and_register_curve(
                application.registry(), application.daily_bars, chosen, settings,
                application.dated_features(chosen), as_of_ns=as_of_ns,
                on_anchor=lambda h: progress.advance(note=f"horizon {h}"),
            )  # fmt: skip
    result: dict[str, Any] = {"version": outcome.version_id, "alias": "candidate",
              "rows": outcome.trained.rows,
              "parity_max_abs": outcome.trained.parity_max_abs,
              "skill": [s.as_dict() for s in outcome.trained.skill]}  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _skill_table(f"curve {outcome.version_id} (candidate)", result["skill"])
    Console().print(
        "next: tradeloop models promote candidate --name curve --to active", highlight=False
    )


def _skill_table(title: str, skill: list[dict[str, Any]]) -> None:
    table = Table(
        title=title,
        caption="out of sample, walk-forward; skill = 1 - MSE / MSE(naive): > 0 beats it",
    )
    for column in ("horizon", "rows", "skill vs 0", "skill vs drift", "rank IC", "hit rate",
                   "band coverage"):  # fmt: skip
        table.add_column(column, justify="right")
    for s in skill:
        table.add_row(str(s["horizon"]), str(s["rows"]), f"{s['skill_vs_zero']:+.3f}",
                      f"{s['skill_vs_drift']:+.3f}", f"{s['rank_ic']:+.3f}",
                      f"{s['hit_rate']:.1%}", f"{s['band_coverage']:.1%}")  # fmt: skip
    Console().print(table)


@app.command("skill")
def skill(
    ref: Annotated[str, typer.Argument(help="alias or version id")] = "candidate",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """A registered curve's out-of-sample skill per anchor horizon."""
    from tradeloop.bootstrap.app import build_app
    from tradeloop.models.curve_model import CURVE_MODEL_NAME
    from tradeloop.settings import load_settings

    with handled_errors():
        found = (
            build_app(load_settings(), config, read_only=True)
            .registry()
            .find(ref, CURVE_MODEL_NAME)
        )
    rows = found.manifest.get("skill", [])
    if as_json:
        print(json.dumps({"version": found.model_version_id, "skill": rows}, indent=2))
        return
    _skill_table(f"curve {found.model_version_id}", rows)


@app.command("predict")
def predict(
    symbol: Annotated[str, typer.Argument(help="a stored symbol, e.g. AAPL")],
    alias: Annotated[str, typer.Option("--alias", help="which curve version")] = "active",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The symbol's curve as of its newest stored session (what the scorer's
    POST /v1/inference/predict/{symbol} answers)."""
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings

    with handled_errors():
        answer = build_app(load_settings(), config).curve_predictor(alias).predict(symbol)
    if as_json:
        print(json.dumps(answer, indent=2))
        return
    mean, unc = answer["predictions_continuous"], answer["uncertainty_continuous"]
    title = (
        f"{symbol} as of {answer['as_of_session']}: {answer['direction']}, optimal "
        f"{answer['optimal_horizon']} sessions ({answer['optimal_return']:+.2%}), "
        f"risk {answer['risk_score']:.2f}"
    )
    table = Table(title=title)
    for column in ("horizon", "expected log return", "uncertainty"):
        table.add_column(column, justify="right")
    for h in (1, 2, 5, 10, 20, 35, 50, 70, 85, 100):
        table.add_row(str(h), f"{mean[h - 1]:+.4f}", f"{unc[h - 1]:.4f}")
    Console().print(table)
