"""The order-book stream through real sockets (uvicorn + a websockets client): the first
message is runtime_config, then per bin a grid_update header and the bin's rows as Arrow
IPC, equal to the replay's grid; a client that does not read never holds the replay back
(bins beyond its queue are dropped, counted and announced); the token rule; bad requests
get a clear error and a close code."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import websockets

from tradeloop.adapters.databento.mbo_file import DatabentoSource
from tradeloop.api.stream import create_stream_app
from tradeloop.features.book.grid import SILVER_COLS
from tradeloop.features.book.instrument import load_instrument
from tradeloop.testing.asgi_server import serving
from tradeloop.testing.waiting import wait_until
from tradeloop.usecases.mbo_replay import replay_grid
from tradeloop.usecases.mbo_stream import (
    BinMessage,
    InstrumentServing,
    StreamRequest,
    bin_messages,
)

ROOT = Path(__file__).resolve().parents[2]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
ES = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml").with_changes(
    cell_width_ms=1_000, grid_half_width_ticks=10
)
FROM, TO = "2023-12-25T23:00:00Z", "2023-12-25T23:05:00Z"
TOKEN = "s3cret-token-for-the-stream-tests-0123456789"


def _replay(request: StreamRequest, stop: threading.Event) -> Iterator[BinMessage]:
    return bin_messages(DatabentoSource(), [DAY], ES, request, stop)


async def _read_all(url: str, **kwargs: Any) -> list[Any]:
    messages: list[Any] = []
    async with websockets.connect(url, max_size=None, **kwargs) as ws:
        try:
            async for message in ws:
                messages.append(message if isinstance(message, bytes) else json.loads(message))
        except websockets.ConnectionClosedError:
            assert ws.close_code is not None
            assert ws.close_code >= 4000  # the refusals' codes; anything else is a failure
    return messages


def test_stream_when_replayed_at_max_then_config_then_each_bin_equals_the_grid(
    tmp_path: Path,
) -> None:
    app = create_stream_app(ES, InstrumentServing(ES), _replay, api_token=None, queue_bins=10_000)
    with serving(app) as port:
        url = f"ws://127.0.0.1:{port}/v1/stream?speed=max&from={FROM}&to={TO}"
        messages = asyncio.run(_read_all(url))
    config = messages[0]
    assert config["type"] == "runtime_config"
    assert config["instrument"]["symbol"] == "ESH4"
    assert config["instrument"]["rows_per_bin"] == 21
    assert [c["name"] for c in config["schema"]] == list(SILVER_COLS)
    assert messages[-1] == {"type": "end", "bins": 300, "dropped": 0}
    headers = messages[1:-1:2]
    payloads = messages[2:-1:2]
    assert [h["type"] for h in headers] == ["grid_update"] * 300
    assert [h["seq"] for h in headers] == list(range(1, 301))
    streamed = pa.concat_tables([pa.ipc.open_stream(p).read_all() for p in payloads])
    replay_grid(
        DatabentoSource(), [DAY], ES, from_ns=1703545200_000_000_000,
        to_ns=1703545500_000_000_000, out=tmp_path / "grid.parquet",
    )  # fmt: skip
    expected = pq.read_table(tmp_path / "grid.parquet")
    assert streamed.schema.names == list(SILVER_COLS)
    for name in SILVER_COLS:
        np.testing.assert_array_equal(
            streamed.column(name).to_numpy(), expected.column(name).to_numpy(), err_msg=name
        )
    ends = streamed.column("bin_end_ns").to_numpy()[::21]
    assert [h["bin_end_ns"] for h in headers] == ends.tolist()


def test_stream_when_client_does_not_read_then_replay_finishes_and_drops_are_told() -> None:
    template = next(
        _replay(StreamRequest(speed=None, from_ns=1703545200_000_000_000), threading.Event())
    )
    finished = threading.Event()
    total = 3000

    def replay(request: StreamRequest, stop: threading.Event) -> Iterator[BinMessage]:
        for seq in range(1, total + 1):
            yield BinMessage(seq, {**template.header, "seq": seq}, template.payload * 4)
        finished.set()

    app = create_stream_app(ES, InstrumentServing(ES), replay, api_token=None, queue_bins=8)

    async def slow_client(port: int) -> list[Any]:
        url = f"ws://127.0.0.1:{port}/v1/stream?speed=max"
        async with websockets.connect(url, max_size=None, max_queue=2) as ws:
            first = json.loads(await ws.recv())
            # the replay runs to its end while this client reads nothing more
            await asyncio.to_thread(wait_until, finished.is_set, "the replay finished")
            rest = [m if isinstance(m, bytes) else json.loads(m) async for m in ws]
            return [first, *rest]

    with serving(app) as port:
        messages = asyncio.run(slow_client(port))
    texts = [m for m in messages if isinstance(m, dict)]
    updates = [m for m in texts if m["type"] == "grid_update"]
    told = [m for m in texts if m["type"] == "dropped"]
    end = texts[-1]
    assert end["type"] == "end"
    assert end["dropped"] > 0
    assert end["bins"] == len(updates)
    assert len(updates) + end["dropped"] == total
    assert sum(m["count"] for m in told) == end["dropped"]
    seqs = [m["seq"] for m in updates]
    assert seqs == sorted(seqs)
    assert seqs[-1] < total or end["dropped"] > 0
    assert all(u["dropped_total"] <= end["dropped"] for u in updates)


def _outside_address() -> str | None:
    """This machine's address on a non-loopback interface (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_stream_when_client_not_on_loopback_then_token_required() -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback interface to connect from")
    app = create_stream_app(ES, InstrumentServing(ES), _replay, api_token=TOKEN)
    url_of = "ws://{}:{}/v1/stream?speed=max&from=" + FROM + "&to=2023-12-25T23:00:03Z"
    with serving(app, host="0.0.0.0") as port:
        refused = asyncio.run(_read_all(url_of.format(address, port)))
        wrong = asyncio.run(
            _read_all(
                url_of.format(address, port), additional_headers={"Authorization": "Bearer x"}
            )
        )
        header = asyncio.run(
            _read_all(
                url_of.format(address, port),
                additional_headers={"Authorization": f"Bearer {TOKEN}"},
            )
        )
        browser = asyncio.run(
            _read_all(url_of.format(address, port), subprotocols=[f"bearer.{TOKEN}"])
        )
        local = asyncio.run(_read_all(url_of.format("127.0.0.1", port)))
    for answer in (refused, wrong):
        assert answer == [
            {"type": "error", "code": 4401, "message": "missing or wrong bearer token"}
        ]
    for answer in (header, browser, local):
        assert answer[0]["type"] == "runtime_config"
        assert answer[-1] == {"type": "end", "bins": 3, "dropped": 0}


def test_stream_when_no_token_configured_then_outside_clients_refused() -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback interface to connect from")
    app = create_stream_app(ES, InstrumentServing(ES), _replay, api_token=None)
    with serving(app, host="0.0.0.0") as port:
        answer = asyncio.run(
            _read_all(
                f"ws://{address}:{port}/v1/stream", additional_headers={"Authorization": "Bearer "}
            )
        )
    assert answer[0]["code"] == 4401


@pytest.mark.parametrize(
    ("query", "code", "says"),
    [
        ("speed=fast", 4400, "speed 'fast': not a replay speed. Fix: 1, 10"),
        ("from=yesterday", 4400, "from='yesterday': not a time"),
        ("serving=nope", 4404, "serving 'nope' is not known here. Fix: ?serving=default"),
    ],
)
def test_stream_when_request_is_bad_then_error_names_it_and_closes(
    query: str, code: int, says: str
) -> None:
    app = create_stream_app(ES, InstrumentServing(ES), _replay, api_token=None)

    async def ask(port: int) -> tuple[list[Any], int | None]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream?{query}") as ws:
            messages = [json.loads(await ws.recv())]
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()
            return messages, ws.close_code

    with serving(app) as port:
        messages, close_code = asyncio.run(ask(port))
    assert close_code == code
    assert messages[0]["code"] == code
    assert says in messages[0]["message"]


def test_stream_when_serving_is_a_registry_alias_then_its_spec_in_runtime_config(
    tmp_path: Path,
) -> None:
    import shutil

    from tradeloop.research.config_tree import load_tree
    from tradeloop.research.serving_registry import ServingRegistry
    from tradeloop.store.sql.engine import open_engine
    from tradeloop.store.sql.migrate import upgrade
    from tradeloop.store.sql.serving_activations import SqlServingActivations
    from tradeloop.usecases.mbo_stream import RegistryServing

    shutil.copytree(ROOT / "research" / "configs", tmp_path / "research" / "configs")
    shutil.copytree(ROOT / "config" / "instruments", tmp_path / "config" / "instruments")
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    registry = ServingRegistry(
        load_tree(tmp_path / "research" / "configs"), SqlServingActivations(engine)
    )
    run = {
        "run_id": "r1", "experiment": "es_composite_sweep", "serving": "es_composite",
        "dataset_id": "d1", "params": {"signal.threshold": 0.1}, "trades": 3,
        "hit_rate": 0.5, "total_pnl_ticks": 2.0, "sharpe": 0.1,
    }  # fmt: skip
    # evaluated on 20 ticks a side: the stream grids that serving's clients the same way
    manifest = {"instrument": ES.with_changes(grid_half_width_ticks=20).model_dump(mode="json")}
    published, _ = registry.promote(run, manifest, "es_live", "ana", "test", 1)
    app = create_stream_app(ES, RegistryServing(ES, registry), _replay, api_token=None)
    url = "ws://127.0.0.1:{}/v1/stream?speed=max&from=" + FROM + "&to=2023-12-25T23:00:02Z"
    with serving(app) as port:
        by_alias = asyncio.run(_read_all(url.format(port) + "&serving=es_live"))
        by_id = asyncio.run(_read_all(url.format(port) + f"&serving={published.serving_id}"))
        unknown = asyncio.run(_read_all(url.format(port) + "&serving=es_test"))
    config = by_alias[0]
    assert config["serving"]["id"] == published.serving_id
    assert config["instrument"]["rows_per_bin"] == 41
    assert pa.ipc.open_stream(by_alias[2]).read_all().num_rows == 41
    assert config["serving"]["signal"]["params"]["threshold"] == 0.1
    assert config["serving"]["gold"]["decay_ticks"] == 6
    assert by_id[0]["serving"]["id"] == published.serving_id
    assert unknown[0]["code"] == 4404
    assert "Fix: one of default, es_live" in unknown[0]["message"]
    june = ES.with_changes(symbol="ESM4")  # a stream of another instrument
    app = create_stream_app(june, RegistryServing(june, registry), _replay, api_token=None)
    with serving(app) as port:
        refused = asyncio.run(_read_all(url.format(port) + "&serving=es_live"))
    assert refused[0]["code"] == 4404
    assert "is for ESH4; this stream serves ESM4" in refused[0]["message"]


def test_stream_sessions_when_clients_come_and_go_then_each_is_recorded(tmp_path: Path) -> None:
    from tradeloop.domain.live_session import LiveSession
    from tradeloop.store.sql.engine import open_engine
    from tradeloop.store.sql.live_sessions import SqlLiveSessions
    from tradeloop.store.sql.migrate import upgrade

    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    log = SqlLiveSessions(engine)
    log.opened(LiveSession("stale", "ESH4", "GLBX.MDP3", "default", "1", None, None, "x", 1))
    ticks = iter(range(10, 10_000))
    app = create_stream_app(ES, InstrumentServing(ES), _replay, api_token=None,
                            queue_bins=10_000, sessions=log, clock=lambda: next(ticks))  # fmt: skip

    async def leave_early(url: str) -> None:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # runtime_config; then the client goes

    with serving(app, lifespan="on") as port:
        base = f"ws://127.0.0.1:{port}/v1/stream"
        asyncio.run(_read_all(f"{base}?speed=max&from={FROM}&to={TO}"))
        asyncio.run(leave_early(f"{base}?speed=1&from={FROM}&to={TO}"))
        wait_until(lambda: len([s for s in log.recent() if s.state != "open"]) == 3,
                   "the second session closed")  # fmt: skip
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/stream/sessions").json()
    by_speed = {s["speed"]: s for s in listed["sessions"] if s["session_id"] != "stale"}
    assert listed["recorded"] is True
    full, left = by_speed["max"], by_speed["1"]
    assert (full["state"], full["bins_sent"], full["bins_dropped"]) == ("ended", 300, 0)
    assert (full["symbol"], full["serving_id"], full["client"]) == ("ESH4", "default", "127.0.0.1")
    assert full["from_ns"] == 1703545200_000_000_000
    assert full["ended_at"] > full["started_at"]
    assert left["state"] == "left"
    assert left["bins_sent"] < 300
    stale = next(s for s in listed["sessions"] if s["session_id"] == "stale")
    assert (stale["state"], stale["ended_at"]) == ("interrupted", 10)


def test_stream_when_session_log_fails_then_streaming_goes_on(tmp_path: Path) -> None:
    from tradeloop.store.sql.engine import open_engine
    from tradeloop.store.sql.live_sessions import SqlLiveSessions

    unmigrated = SqlLiveSessions(open_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    app = create_stream_app(ES, InstrumentServing(ES), _replay, api_token=None,
                            queue_bins=10_000, sessions=unmigrated)  # fmt: skip
    with serving(app) as port:
        messages = asyncio.run(
            _read_all(f"ws://127.0.0.1:{port}/v1/stream?speed=max&from={FROM}&to={TO}")
        )
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/stream/sessions").json()
    assert messages[-1] == {"type": "end", "bins": 300, "dropped": 0}
    assert listed == {"recorded": True, "sessions": []}
