"""``tradeloop forecast``: multi-horizon return forecasts from stored bars."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors
from tradeloop.cli.intervals import INTERVALS
from tradeloop.cli.symbols import parse_symbols
from tradeloop.core.errors import ConfigError


def forecast(
    tickers: Annotated[str, typer.Option(help="comma-separated symbols")] = "SPY",
    interval: Annotated[str, typer.Option(help="bar size of the stored history")] = "1d",
    horizons: Annotated[
        str | None, typer.Option(help="bars ahead, e.g. 1,5,20 (default: forecast.horizons)")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Forecast each symbol's cumulative log return at several horizons from its stored
    closes: ARIMA (config `forecast`) on log returns, or the EWMA mean when ARIMA does not
    converge or the history is too short (the method and the reason are shown; the daemon
    counts such fallbacks as arima_fb).

    Examples:

      tradeloop forecast --tickers SPY,QQQ

      tradeloop forecast --tickers SPY --interval 5m --horizons 1,12,78 --json

    Exit codes: 0 forecast, 2 bad input or no stored bars for a symbol.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.models.forecaster import forecast_returns
    from tradeloop.settings import load_settings

    with handled_errors():
        if interval not in INTERVALS:
            raise ConfigError(f"--interval {interval!r}: use one of {', '.join(INTERVALS)}")
        app = build_app(load_settings(), config)
        settings = app.config.forecast
        if horizons:
            try:
                chosen = tuple(int(h) for h in horizons.split(","))
                settings = settings.model_validate({**settings.model_dump(), "horizons": chosen})
            except ValueError as exc:
                raise ConfigError(f"--horizons {horizons!r}: {exc}") from None
        symbols = list(parse_symbols(tickers))
        bars = app.ingest_store().load_bars_many(symbols, INTERVALS[interval], 0, time.time_ns())
        made = {}
        for symbol in symbols:
            closes = bars.filter(bars["symbol"] == symbol).sort("ts")["close"].to_numpy()
            if closes.size == 0:
                raise ConfigError(
                    f"{symbol}: no stored {interval} bars; ingest or collect them first"
                )
            made[symbol] = forecast_returns(closes[-(settings.window + 1) :], settings)
    if as_json:
        print(json.dumps({s: f.as_dict() for s, f in made.items()}, indent=2))
        return
    table = Table(title=f"forecast ({interval} bars; expected return over the horizon)")
    table.add_column("symbol")
    for h in settings.horizons:
        table.add_column(f"{h} bars", justify="right")
    table.add_column("method")
    for symbol, result in made.items():
        cells = [f"{math.expm1(r):+.2%}" for r in result.log_returns]
        method = result.method + (f" ({result.reason})" if result.reason else "")
        table.add_row(symbol, *cells, method)
    Console().print(table)
