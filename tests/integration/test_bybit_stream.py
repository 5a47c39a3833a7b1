"""The collector's Bybit source through ccxt's websocket client, against a local fake of
Bybit's V5 public stream: trades, the order book (snapshot + deltas), klines, a cut."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tradeloop.testing.services import optional_module
from tradeloop.testing.waiting import wait_until

optional_module("ccxt", "the Bybit stream goes through ccxt (extra crypto)")

from tradeloop.adapters.venues.bybit_stream import (  # noqa: E402
    BybitPublicStream,
    StreamInstrument,
)
from tradeloop.testing.fake_bybit_ws import FakeBybitStream  # noqa: E402

T_MS = 1_767_571_200_000
TRADES, BOOK, KLINE = "publicTrade.BTCUSDT", "orderbook.50.BTCUSDT", "kline.1.BTCUSDT"


@pytest.fixture
def fake() -> Iterator[FakeBybitStream]:
    with FakeBybitStream() as server:
        yield server


@pytest.fixture
def stream(fake: FakeBybitStream) -> Iterator[BybitPublicStream]:
    source = BybitPublicStream(
        [StreamInstrument("BTCUSDT", "BTCUSDT", 0.001, 0.1)], "md", ws_url=fake.url, levels=3
    )
    yield source
    source.close()


def _drain(stream: BybitPublicStream, want: int, kind: str) -> list[Any]:
    got: list[Any] = []

    def enough() -> bool:
        got.extend(m for m in stream.next_batch(1, 0) if m.payload["kind"] == kind)
        return len(got) >= want

    wait_until(enough, f"{want} {kind} message(s)", 30)
    return got


def _trade(trade_id: str, price: str, side: str, ms: int) -> dict[str, Any]:
    return {"T": ms, "s": "BTCUSDT", "S": side, "v": "0.010", "p": price, "L": "PlusTick",
            "i": trade_id, "BT": False}  # fmt: skip


def test_stream_when_trades_pushed_twice_then_one_message_each(
    fake: FakeBybitStream, stream: BybitPublicStream
) -> None:
    wait_until(lambda: fake.subscribed(TRADES) >= 1, "the trade subscription", 30)
    trades = [_trade("a1", "60000.1", "Buy", T_MS), _trade("a2", "60000.0", "Sell", T_MS + 5)]
    fake.push(TRADES, trades)
    fake.push(TRADES, trades)  # a replay after a reconnect: the same trades again
    got = _drain(stream, 4, "trade")
    assert len({m.message_id for m in got}) == 2
    first = next(m.payload for m in got)
    assert first["ts"] == T_MS * 1_000_000
    assert (first["price"], first["qty"], first["side"]) == (60000.1, 0.01, "buy")


def test_stream_when_snapshot_then_delta_then_book_has_the_levels_applied(
    fake: FakeBybitStream, stream: BybitPublicStream
) -> None:
    wait_until(lambda: fake.subscribed(BOOK) >= 1, "the book subscription", 30)
    snapshot = {"s": "BTCUSDT", "b": [["60000.0", "1.5"], ["59999.9", "2"], ["59999.8", "3"]],
                "a": [["60000.1", "0.5"], ["60000.2", "4"]], "u": 1, "seq": 100}  # fmt: skip
    fake.push(BOOK, snapshot, "snapshot", T_MS)
    delta = {"s": "BTCUSDT", "b": [["60000.0", "0"]], "a": [["60000.1", "0.7"]], "u": 2,
             "seq": 101}  # fmt: skip
    fake.push(BOOK, delta, "delta", T_MS + 10)
    books = _drain(stream, 2, "book")
    last = books[-1].payload
    assert last["bids"] == [[59999.9, 2.0], [59999.8, 3.0]]  # 60000.0 deleted by the delta
    assert last["asks"] == [[60000.1, 0.7], [60000.2, 4.0]]
    assert last["ts"] == (T_MS + 10) * 1_000_000


def _candle(start_ms: int, close: str) -> dict[str, Any]:
    return {"start": start_ms, "end": start_ms + 59_999, "interval": "1", "open": "60000",
            "close": close, "high": "60010", "low": "59990", "volume": "12.5",
            "turnover": "750000", "confirm": False, "timestamp": start_ms + 1_000}  # fmt: skip


def test_stream_when_next_minute_starts_then_closed_kline_published_once(
    fake: FakeBybitStream, stream: BybitPublicStream
) -> None:
    wait_until(lambda: fake.subscribed(KLINE) >= 1, "the kline subscription", 30)
    fake.push(KLINE, [_candle(T_MS, "60001")])
    fake.push(KLINE, [_candle(T_MS + 60_000, "60002")])
    fake.push(KLINE, [_candle(T_MS + 60_000, "60003")])  # the open candle updates again
    [kline] = _drain(stream, 1, "kline")
    assert kline.payload["ts"] == T_MS * 1_000_000
    assert kline.payload["close"] == 60001.0
    fake.push(KLINE, [_candle(T_MS + 120_000, "60004")])
    [nxt] = _drain(stream, 1, "kline")
    assert nxt.payload["ts"] == (T_MS + 60_000) * 1_000_000


def test_stream_when_connection_cut_then_resubscribes_and_flows(
    fake: FakeBybitStream, stream: BybitPublicStream
) -> None:
    wait_until(lambda: fake.subscribed(TRADES) >= 1, "the trade subscription", 30)
    fake.drop_connections()
    wait_until(lambda: fake.subscribed(TRADES) >= 2, "a new subscription after the cut", 60)
    fake.push(TRADES, [_trade("b1", "60001.0", "Buy", T_MS + 100)])
    [trade] = _drain(stream, 1, "trade")
    assert trade.payload["price"] == 60001.0
    assert stream.counters.reconnects >= 1


def test_scalper_run_when_source_is_bybit_then_the_stream_feeds_the_stages(
    fake: FakeBybitStream, tmp_path: Any
) -> None:
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "tradeloop.yaml").write_text(
        f"scalper:\n  source: bybit\n  bybit_ws_url: {fake.url}\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(tmp_path / "var")
    child = subprocess.Popen(
        [sys.executable, "-m", "tradeloop.cli", "scalper", "run", "--max-messages", "3",
         "--json"], cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: fake.subscribed(BOOK) >= 1, "the CLI's book subscription", 60,
                   alive=lambda: child.poll() is None)  # fmt: skip
        snapshot = {"s": "BTCUSDT", "b": [["60000.0", "9"]], "a": [["60000.1", "1"]], "u": 1,
                    "seq": 1}  # fmt: skip
        fake.push(BOOK, snapshot, "snapshot", T_MS)
        fake.push(TRADES, [_trade("c1", "60000.1", "Buy", T_MS + 1)])
        fake.push(TRADES, [_trade("c2", "60000.0", "Sell", T_MS + 2)])
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    summary = json.loads(out)
    assert summary["market_messages"] >= 3
    assert summary["stages"]["signal_engine"]["handled"] == summary["market_messages"]
