"""Provider adapters against realistic payloads served on 127.0.0.1 (real sockets)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import polars as pl
import pytest

from tradeloop.adapters.alpaca import AlpacaProvider
from tradeloop.adapters.http_client import HttpJsonClient
from tradeloop.adapters.polygon import PolygonProvider
from tradeloop.adapters.yahoo import YahooProvider
from tradeloop.core.errors import DataError, EntitlementError, RetryableError
from tradeloop.core.time import parse_ns
from tradeloop.data.config import RetryConfig
from tradeloop.data.ports import BarRequest
from tradeloop.testing import stub_bars
from tradeloop.testing.http_server import FakeHttpServer, Reply
from tradeloop.testing.payloads import alpaca_bars, polygon_aggs, yahoo_chart

START = parse_ns("2020-01-06")
BARS = stub_bars("AAPL", 60, start_ns=START)
REQUEST = BarRequest("AAPL", START, START + 100 * 86_400 * 10**9, 86_400)
POLYGON_PATH = "/v2/aggs/ticker/AAPL/range/1/day/2020-01-06/2020-04-14"
YAHOO_PATH = "/v8/finance/chart/AAPL"
ALPACA_PATH = "/v2/stocks/bars"
RETRY = RetryConfig(max_attempts=3, base_delay_ms=10, max_delay_ms=50, timeout_ms=500)


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake


def _client(name: str, server: FakeHttpServer, sleeps: list[float] | None = None) -> HttpJsonClient:
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    return HttpJsonClient(
        name, server.url, retry=RETRY, rate_per_minute=10_000, sleep=record, rng=random.Random(1)
    )


def _same_bars(fetched: pl.DataFrame) -> None:
    expected = BARS.select("ts", "open", "high", "low", "close", "volume")
    assert fetched.select(expected.columns).equals(expected)


def test_yahoo_when_chart_ok_then_bars_actions_and_metadata(server: FakeHttpServer) -> None:
    split_ts, dividend_ts = int(BARS["ts"][10]), int(BARS["ts"][20])
    server.script(
        YAHOO_PATH,
        Reply(
            200,
            yahoo_chart("AAPL", BARS, splits={split_ts: (4, 1)}, dividends={dividend_ts: 0.205}),
        ),
    )
    history = YahooProvider(_client("yahoo", server)).fetch_history(REQUEST)
    _same_bars(history.bars)
    assert history.actions.select("ts", "kind", "value").rows() == [
        (split_ts, "split", 4.0),
        (dividend_ts, "dividend", 0.205),
    ]
    assert history.metadata["exchangeTimezoneName"] == "America/New_York"
    assert server.requests[0].query["interval"] == ["1d"]


def test_polygon_when_paginated_then_all_pages_joined_and_key_not_in_url(
    server: FakeHttpServer,
) -> None:
    page2 = "/v2/aggs/ticker/AAPL/range/1/day/2020-01-06/2020-04-14/page2"
    server.script(
        POLYGON_PATH, Reply(200, polygon_aggs("AAPL", BARS.head(30), next_url=server.url + page2))
    )
    server.script(page2, Reply(200, polygon_aggs("AAPL", BARS.tail(30))))
    client = HttpJsonClient(
        "polygon",
        server.url,
        retry=RETRY,
        rate_per_minute=10_000,
        headers={"Authorization": "Bearer k3y"},
    )
    _same_bars(PolygonProvider(client).fetch_bars(REQUEST))
    assert all("k3y" not in str(r.query) for r in server.requests)
    assert server.requests[0].headers["Authorization"] == "Bearer k3y"


def test_alpaca_when_paged_by_token_then_all_bars(server: FakeHttpServer) -> None:
    server.script(
        ALPACA_PATH,
        Reply(200, alpaca_bars("AAPL", BARS.head(25), next_page_token="p2")),
        Reply(200, alpaca_bars("AAPL", BARS.tail(35))),
    )
    _same_bars(AlpacaProvider(_client("alpaca", server)).fetch_bars(REQUEST))
    assert server.requests[1].query["page_token"] == ["p2"]


@pytest.mark.parametrize("status", [400, 401, 403])
def test_client_when_entitlement_refused_then_not_retried(
    server: FakeHttpServer, status: int
) -> None:
    server.script(POLYGON_PATH, Reply(status, {"status": "NOT_AUTHORIZED"}))
    with pytest.raises(EntitlementError, match=f"HTTP {status}.*not retried"):
        PolygonProvider(_client("polygon", server)).fetch_bars(REQUEST)
    assert server.hits(POLYGON_PATH) == 1


def test_client_when_429_with_retry_after_then_waits_that_long(server: FakeHttpServer) -> None:
    sleeps: list[float] = []
    server.script(
        POLYGON_PATH,
        Reply(429, {"status": "ERROR"}, headers={"Retry-After": "7"}),
        Reply(200, polygon_aggs("AAPL", BARS)),
    )
    _same_bars(PolygonProvider(_client("polygon", server, sleeps)).fetch_bars(REQUEST))
    assert sleeps == [7.0]


def test_client_when_500_then_backoff_and_success(server: FakeHttpServer) -> None:
    sleeps: list[float] = []
    server.script(
        YAHOO_PATH,
        Reply(500, {"error": "boom"}),
        Reply(503, {"error": "busy"}),
        Reply(200, yahoo_chart("AAPL", BARS)),
    )
    _same_bars(YahooProvider(_client("yahoo", server, sleeps)).fetch_bars(REQUEST))
    assert len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.010
    assert 0.010 <= sleeps[1] <= 0.020


def test_client_when_always_timing_out_then_retryable_not_rejected(server: FakeHttpServer) -> None:
    server.script(YAHOO_PATH, Reply(200, yahoo_chart("AAPL", BARS), delay_s=1.0))
    with pytest.raises(RetryableError, match="gave up after 3 attempts: timed out"):
        YahooProvider(_client("yahoo", server)).fetch_bars(REQUEST)


BAD_CASES = {
    "malformed JSON": (Reply(200, raw=b'{"chart": {"result": [ {"meta": '), "malformed JSON"),
    "empty body": (Reply(200, raw=b""), "malformed JSON"),
    "NaN price": (None, "NaN/Infinity|null"),
    "zero price": (None, "non-positive price"),
    "negative price": (None, "non-positive price"),
    "high below low": (None, "high below"),
    "duplicate dates": (None, "share a"),
    "wrong symbol": (Reply(200, yahoo_chart("MSFT", BARS)), "payload is for 'MSFT'"),
    "no data": (
        Reply(
            404,
            {
                "chart": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": "No data found, symbol may be delisted",
                    },
                }
            },
        ),
        "HTTP 404",
    ),
}


def _corrupt(case: str) -> Reply:
    column = {
        "NaN price": ("close", float("nan")),
        "zero price": ("low", 0.0),
        "negative price": ("open", -1.0),
        "high below low": ("high", 1.0),
    }
    if case in column:
        name, value = column[case]
        bars = BARS.with_columns(
            pl.when(pl.int_range(pl.len()) == 5).then(value).otherwise(pl.col(name)).alias(name)
        )
        return Reply(200, yahoo_chart("AAPL", bars))
    assert case == "duplicate dates"
    return Reply(200, yahoo_chart("AAPL", pl.concat([BARS, BARS.slice(3, 1)])))


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_yahoo_when_payload_bad_then_data_error_names_problem(
    server: FakeHttpServer, case: str
) -> None:
    reply, message = BAD_CASES[case]
    server.script(YAHOO_PATH, reply or _corrupt(case))
    with pytest.raises(DataError, match=message):
        YahooProvider(_client("yahoo", server)).fetch_bars(REQUEST)


def test_yahoo_when_rows_out_of_order_then_sorted(server: FakeHttpServer) -> None:
    shuffled = BARS.sample(fraction=1.0, shuffle=True, seed=3)
    payload = yahoo_chart("AAPL", BARS)
    order = shuffled["ts"].to_list()
    result = payload["chart"]["result"][0]
    index = {ts: i for i, ts in enumerate(BARS["ts"].to_list())}
    perm = [index[ts] for ts in order]
    result["timestamp"] = [result["timestamp"][i] for i in perm]
    for series in result["indicators"]["quote"][0].values():
        series[:] = [series[i] for i in perm]
    adj = result["indicators"]["adjclose"][0]["adjclose"]
    adj[:] = [adj[i] for i in perm]
    server.script(YAHOO_PATH, Reply(200, payload))
    _same_bars(YahooProvider(_client("yahoo", server)).fetch_bars(REQUEST))
