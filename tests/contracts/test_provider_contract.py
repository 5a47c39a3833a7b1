"""What every bar provider promises the ingestion path, run against each of them: the
bundled history, the synthetic market, the files provider, and the REST providers (Yahoo,
Polygon, Alpaca and the template) on recorded payload shapes served on 127.0.0.1. A new
provider gets a harness here (docs/architecture.md)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tradeloop.adapters.http_client import HttpJsonClient
from tradeloop.core.errors import DataError
from tradeloop.core.time import parse_ns
from tradeloop.data.config import RetryConfig
from tradeloop.data.ports import BarRequest, Provider
from tradeloop.data.validation import BAR_SCHEMA_POLARS
from tradeloop.testing import stub_bars
from tradeloop.testing.http_server import FakeHttpServer, Reply

DAY = 86_400
START = parse_ns("2020-01-06")
BARS = stub_bars("AAPL", 60, start_ns=START)
RETRY = RetryConfig(max_attempts=2, base_delay_ms=1, max_delay_ms=5, timeout_ms=500)


@dataclass
class Harness:
    provider: Provider
    request: BarRequest  # a range the provider has bars for
    wrong_payload: Callable[[], None] | None = None  # makes the next answer malformed


def _client(name: str, server: FakeHttpServer) -> HttpJsonClient:
    return HttpJsonClient(
        name,
        server.url,
        retry=RETRY,
        rate_per_minute=10_000,
        sleep=lambda _s: None,
        rng=random.Random(1),
    )


def _http(name: str, tmp_path: Path) -> Iterator[Harness]:
    from tradeloop.adapters._template.provider import JsonBarsProvider
    from tradeloop.adapters.alpaca import AlpacaProvider
    from tradeloop.adapters.polygon import PolygonProvider
    from tradeloop.adapters.yahoo import YahooProvider
    from tradeloop.testing.payloads import alpaca_bars, polygon_aggs, yahoo_chart

    request = BarRequest("AAPL", START, START + 100 * DAY * 10**9, DAY)
    routes: dict[str, tuple[type[Any], str, Callable[[], Any]]] = {
        "yahoo": (YahooProvider, "/v8/finance/chart/AAPL", lambda: yahoo_chart("AAPL", BARS)),
        "polygon": (
            PolygonProvider,
            "/v2/aggs/ticker/AAPL/range/1/day/2020-01-06/2020-04-14",
            lambda: polygon_aggs("AAPL", BARS),
        ),
        "alpaca": (AlpacaProvider, "/v2/stocks/bars", lambda: alpaca_bars("AAPL", BARS)),
        "json_bars": (
            JsonBarsProvider,
            "/bars/AAPL",
            lambda: {
                "symbol": "AAPL",
                "bars": [
                    {
                        "t": r["ts"] // 1_000_000,
                        "o": r["open"],
                        "h": r["high"],
                        "l": r["low"],
                        "c": r["close"],
                        "v": r["volume"],
                    }
                    for r in BARS.iter_rows(named=True)
                ],
            },
        ),
    }
    kind, path, payload = routes[name]
    with FakeHttpServer() as server:
        server.script(path, Reply(200, payload()))

        def wrong() -> None:
            server.script(path, Reply(200, {"unexpected": "shape"}))

        yield Harness(kind(_client(name, server)), request, wrong)


def _bundled(tmp_path: Path) -> Iterator[Harness]:
    from tradeloop.adapters.bundled import BundledProvider

    yield Harness(
        BundledProvider(), BarRequest("GOOG", parse_ns("2010-01-01"), parse_ns("2011-01-01"), DAY)
    )


def _synthetic(tmp_path: Path) -> Iterator[Harness]:
    from tradeloop.adapters.synthetic import SyntheticProvider

    yield Harness(
        SyntheticProvider(seed=3), BarRequest("SPY", START, START + 30 * DAY * 10**9, DAY)
    )


def _files(tmp_path: Path) -> Iterator[Harness]:
    from tradeloop.adapters.files import FilesProvider

    BARS.select("ts", "open", "high", "low", "close", "volume").write_parquet(
        tmp_path / "AAPL.parquet"
    )
    yield Harness(
        FilesProvider(tmp_path), BarRequest("AAPL", START, START + 100 * DAY * 10**9, DAY)
    )


REMOTE = ("yahoo", "polygon", "alpaca", "json_bars")
HARNESSES: dict[str, Callable[[Path], Iterator[Harness]]] = {
    "bundled": _bundled,
    "synthetic": _synthetic,
    "files": _files,
    **{
        name: (lambda path, n=name: _http(n, path))
        for name in ("yahoo", "polygon", "alpaca", "json_bars")
    },
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from HARNESSES[request.param](tmp_path)


@pytest.fixture(params=sorted(REMOTE))
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """The providers that read an answer from across a network."""
    yield from _http(request.param, tmp_path)


def test_provider_when_range_has_bars_then_bar_schema_sorted_and_inside_the_range(
    harness: Harness,
) -> None:
    request = harness.request
    bars = harness.provider.fetch_bars(request)
    assert bars.height > 0
    assert bars.schema == BAR_SCHEMA_POLARS
    assert bars["ts"].is_sorted()
    assert bars["ts"].n_unique() == bars.height
    assert int(bars["ts"].min()) >= request.start_ns  # type: ignore[arg-type]
    assert int(bars["ts"].max()) < request.end_ns  # type: ignore[arg-type]
    assert set(bars["symbol"].to_list()) == {request.symbol}
    assert set(bars["bar_interval_sec"].to_list()) == {request.bar_interval_sec}
    ohlc = bars.select(
        (pl.col("low") <= pl.min_horizontal("open", "close"))
        & (pl.col("high") >= pl.max_horizontal("open", "close"))
    )
    assert ohlc.to_series().all()


def test_provider_names_itself_and_what_it_serves(harness: Harness) -> None:
    assert isinstance(harness.provider.name, str)
    assert harness.provider.name
    served = harness.provider.symbols()
    assert isinstance(served, tuple)
    assert not served or harness.request.symbol in served


def test_provider_when_answer_malformed_then_data_error_naming_the_symbol(
    remote: Harness,
) -> None:
    assert remote.wrong_payload is not None
    remote.wrong_payload()
    with pytest.raises(DataError, match=remote.request.symbol):
        remote.provider.fetch_bars(remote.request)
