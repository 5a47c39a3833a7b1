"""The order-book stream over WebSocket (FastAPI): ``/v1/stream``.

``ws://127.0.0.1:5004/v1/stream?serving=default&speed=10&from=...&to=...`` sends, in
order: one ``runtime_config`` JSON message; then per bin a ``grid_update`` JSON header
followed by one binary message, the bin's silver rows as an Arrow IPC stream; a
``dropped`` JSON message before the next bin whenever bins were dropped for this client;
and an ``end`` JSON message when the range is over (then the socket closes, code 1000).
A request the stream cannot serve gets an ``error`` JSON message and close code 4400
(bad parameter), 4401 (token) or 4404 (unknown serving).

Each client has its own replay on its own thread, feeding a bounded queue of
``queue_bins``: a client that reads slower than the replay never slows it; bins that find
the queue full are dropped, counted (``dropped_total`` in every header) and announced.

Token rule (as the other servers): a client on loopback needs none; any other client
must send ``Authorization: Bearer $TRADELOOP_API_TOKEN`` (or, from a browser, the
subprotocol ``bearer.<token>``), and with no token configured it is refused.
``GET /v1/stream/health`` says what the stream serves; ``GET /v1/stream/sessions`` lists
the recent client sessions (``ingestion_live_session``: serving, range, speed, client, bins
sent and dropped, how it ended). Recording them never stops the stream: when the database
fails, the stream goes on and the log says so. A server that starts marks the sessions
still open from its previous run ``interrupted`` (one stream server per database).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from tradeloop.core.errors import DataError
from tradeloop.core.time import parse_ns
from tradeloop.domain.live_session import LiveSession
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.serving.http_guard import is_loopback
from tradeloop.usecases.mbo_stream import (
    BinMessage,
    LiveSessionLog,
    ServingCatalog,
    StreamRequest,
    UnknownServing,
    parse_speed,
    request_instrument,
    runtime_config,
)

log = logging.getLogger(__name__)
Replay = Callable[[StreamRequest, threading.Event], Iterator[BinMessage]]
_END = object()
_CLOSED = object()


class _Outbox:
    """The bounded queue between a replay thread and one client. A bin that finds it full
    is dropped on the replay's thread (the replay never waits, and the event loop spends
    nothing on it); the loop is woken only when it waits for a bin."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self.limit, self.loop = limit, loop
        self.items: deque[object] = deque()
        self.lock = threading.Lock()
        self.ready = asyncio.Event()
        self.waiting = False
        self.closed = False
        self.dropped = 0
        self.told = 0

    def put(self, item: object) -> None:  # on the replay thread
        with self.lock:
            if item is not _END and len(self.items) >= self.limit:
                self.dropped += 1
                return
            self.items.append(item)
            wake, self.waiting = self.waiting, False
        if wake:
            self.loop.call_soon_threadsafe(self.ready.set)

    async def get(self) -> object:  # on the event loop; _CLOSED once the client left
        while True:
            with self.lock:
                if self.closed:
                    return _CLOSED
                if self.items:
                    return self.items.popleft()
                self.waiting = True
                self.ready.clear()
            await self.ready.wait()

    def close(self) -> None:  # on the event loop
        with self.lock:
            self.closed = True
        self.ready.set()


def _authorized(websocket: WebSocket, token: str | None) -> bool:
    client = websocket.client.host if websocket.client else ""
    if is_loopback(client):
        return True
    if token is None:
        return False
    header = websocket.headers.get("authorization", "")
    protocols = websocket.headers.get("sec-websocket-protocol", "")
    offered = [p.strip() for p in protocols.split(",") if p.strip()]
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode()) or any(
        hmac.compare_digest(p.encode(), f"bearer.{token}".encode()) for p in offered
    )


def _request(params: dict[str, str], default_speed: str) -> StreamRequest:
    bounds = []
    for name in ("from", "to"):
        value = params.get(name)
        try:
            bounds.append(parse_ns(value) if value else None)
        except ValueError:
            raise DataError(
                f"{name}={value!r}: not a time. Fix: e.g. 2023-12-25T23:00:00Z"
            ) from None
    return StreamRequest(
        serving=params.get("serving") or None,
        speed=parse_speed(params.get("speed") or default_speed),
        from_ns=bounds[0],
        to_ns=bounds[1],
    )


def create_stream_app(
    instrument: InstrumentConfig,
    catalog: ServingCatalog,
    replay: Replay,
    *,
    api_token: str | None,
    queue_bins: int = 256,
    default_speed: str = "1",
    sessions: LiveSessionLog | None = None,
    clock: Callable[[], int] = time.time_ns,
) -> FastAPI:
    """The stream's FastAPI app; ``replay`` yields a request's bin messages; ``sessions``
    records each client's session."""
    record = _Recorder(sessions, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await record.call("interrupt_open", clock())
        yield

    app = FastAPI(title="tradeloop stream", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)  # fmt: skip
    stats = {"clients": 0, "bins_sent": 0, "bins_dropped": 0}

    @app.get("/v1/stream/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "instrument": instrument.symbol,
            "dataset": instrument.dataset,
            "cell_width_ms": instrument.cell_width_ms,
            **stats,
        }

    @app.get("/v1/stream/sessions")
    async def live_sessions(limit: int = 100) -> dict[str, Any]:
        found = await record.call("recent", max(1, min(limit, 1000)))
        return {"recorded": sessions is not None,
                "sessions": [s.public() for s in found or []]}  # fmt: skip

    @app.websocket("/v1/stream")
    async def stream(websocket: WebSocket) -> None:
        accepted = await _accept(websocket, api_token, catalog, default_speed)
        if accepted is None:
            return
        request, serving = accepted
        served = request_instrument(instrument, request)
        await websocket.send_text(json.dumps(runtime_config(served, serving, request, queue_bins)))
        session = _live_session(websocket, served, serving, request, clock())
        await record.call("opened", session)
        stats["clients"] += 1
        outcome: tuple[str, int, int, str | None] = ("left", 0, 0, None)
        try:
            outcome = await _pump(websocket, replay, request, queue_bins, stats)
        finally:
            stats["clients"] -= 1
            await record.call("closed", session.session_id, *outcome, clock())

    return app


async def _accept(
    websocket: WebSocket, api_token: str | None, catalog: ServingCatalog, default_speed: str
) -> tuple[StreamRequest, dict[str, Any]] | None:
    """Accept the socket; the request and its serving, or None once refused and closed."""
    offered = websocket.headers.get("sec-websocket-protocol", "")
    subprotocol = next(
        (p.strip() for p in offered.split(",") if p.strip().startswith("bearer.")), None
    )
    await websocket.accept(subprotocol=subprotocol)
    if not _authorized(websocket, api_token):
        await _refuse(websocket, 4401, "missing or wrong bearer token")
        return None
    try:
        request = _request(dict(websocket.query_params), default_speed)
        serving = catalog.resolve(request.serving)
    except UnknownServing as exc:
        await _refuse(websocket, 4404, str(exc))
        return None
    except DataError as exc:
        await _refuse(websocket, 4400, str(exc))
        return None
    grid = serving.get("grid")
    if grid is not None:
        request = dataclasses.replace(
            request, grid=(grid["cell_width_ms"], grid["grid_half_width_ticks"])
        )
    return request, serving


def _live_session(
    websocket: WebSocket, served: InstrumentConfig, serving: dict[str, Any],
    request: StreamRequest, now: int,
) -> LiveSession:  # fmt: skip
    return LiveSession(
        uuid.uuid4().hex, served.symbol, served.dataset, str(serving.get("id", "default")),
        "max" if request.speed is None else f"{request.speed:g}", request.from_ns,
        request.to_ns, websocket.client.host if websocket.client else "", now,
    )  # fmt: skip


async def _refuse(websocket: WebSocket, code: int, message: str) -> None:
    await websocket.send_text(json.dumps({"type": "error", "code": code, "message": message}))
    await websocket.close(code=code)


async def _pump(
    websocket: WebSocket,
    replay: Replay,
    request: StreamRequest,
    limit: int,
    stats: dict[str, int],
) -> tuple[str, int, int, str | None]:
    """Sends the replay's bins; how it ended: (state, bins sent, bins dropped, error)."""
    outbox = _Outbox(limit, asyncio.get_running_loop())
    stop = threading.Event()
    failure: list[str] = []

    def produce() -> None:
        try:
            for message in replay(request, stop):
                outbox.put(message)
        except DataError as exc:
            failure.append(str(exc))
        except Exception as exc:  # the client is told; the server goes on serving others
            log.exception("stream replay failed")
            failure.append(f"replay failed: {exc}")
        finally:
            outbox.put(_END)

    thread = threading.Thread(target=produce, name="stream-replay", daemon=True)
    thread.start()
    watcher = asyncio.create_task(_until_closed(websocket))
    watcher.add_done_callback(lambda _: outbox.close())
    sent = 0
    try:
        while True:
            item = await outbox.get()
            if item is _CLOSED:
                return "left", sent, outbox.dropped, None
            if outbox.dropped > outbox.told:
                count, outbox.told = outbox.dropped - outbox.told, outbox.dropped
                stats["bins_dropped"] += count
                await websocket.send_text(
                    json.dumps({"type": "dropped", "count": count, "total": outbox.dropped})
                )
            if item is _END:
                end = {"type": "end", "bins": sent, "dropped": outbox.dropped}
                if failure:
                    end["error"] = failure[0]
                await websocket.send_text(json.dumps(end))
                await websocket.close(code=1000 if not failure else 1011)
                return (
                    ("failed" if failure else "ended"),
                    sent,
                    outbox.dropped,
                    failure[0] if failure else None,
                )
            assert isinstance(item, BinMessage)
            header = {**item.header, "dropped_total": outbox.dropped, "sent_ns": time.time_ns()}
            await websocket.send_text(json.dumps(header))
            await websocket.send_bytes(item.payload)
            sent += 1
            stats["bins_sent"] += 1
    except (WebSocketDisconnect, RuntimeError):
        return "left", sent, outbox.dropped, None  # the client went away mid-send
    finally:
        stop.set()
        watcher.cancel()
        await asyncio.to_thread(thread.join)


class _Recorder:
    """Calls the session log off the event loop; a failure is logged, never raised (the
    stream serves on without its records)."""

    def __init__(self, log_: LiveSessionLog | None, clock: Callable[[], int]) -> None:
        self.log, self.clock = log_, clock

    async def call(self, method: str, *args: Any) -> Any:
        if self.log is None:
            return None
        try:
            return await asyncio.to_thread(getattr(self.log, method), *args)
        except Exception as exc:  # the database is down: keep streaming
            log.warning("stream session log %s failed: %s", method, exc)
            return None


async def _until_closed(websocket: WebSocket) -> None:
    """Returns when the client closes (anything it sends is ignored)."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return


def create_app() -> FastAPI:
    """uvicorn factory (``tradeloop.api.stream:create_app``): the instrument, config and
    token from the environment (``TRADELOOP_INSTRUMENT_CONFIG``, ``TRADELOOP_CONFIG``,
    ``TRADELOOP_API_TOKEN``, ``TRADELOOP_HOME``)."""
    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.settings import load_settings

    settings = load_settings()
    instrument, _ = wiring.instrument(settings, None)
    app = stream_for(settings)
    if app is None:
        raise DataError(f"no MBO files for {instrument.symbol}. Fix: tradeloop mbo import FILE")
    return app


def stream_for(settings: Any) -> FastAPI | None:
    """The stream's app for these settings, or None (said in the log) when there is no
    instrument or no imported MBO file (the control plane mounts it at ``/stream``)."""
    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.bootstrap.app import load_app_config
    from tradeloop.bootstrap.research import live_session_log, serving_catalog
    from tradeloop.core.errors import ConfigError

    try:
        config = load_app_config(settings.config)[0].stream
        instrument, _ = wiring.instrument(settings, None)
        files = wiring.mbo_files(settings, instrument)
    except (ConfigError, DataError, OSError) as exc:
        log.warning("no order-book stream: %s", exc)
        return None
    if not files:
        log.warning("no order-book stream: no MBO files (tradeloop mbo import)")
        return None
    token = settings.api_token
    return create_stream_app(
        instrument, serving_catalog(settings, instrument),
        wiring.stream_replay(settings, instrument, files),
        api_token=token.get_secret_value() if token else None, queue_bins=config.queue_bins,
        default_speed=config.default_speed, sessions=live_session_log(settings),
    )  # fmt: skip
