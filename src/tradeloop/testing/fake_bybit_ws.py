"""A fake of Bybit's V5 public websocket on 127.0.0.1, scripted by the test.

It answers ``{"op": "subscribe", "args": [...]}`` and ``{"op": "ping"}`` as Bybit does and
pushes what the test sends to the clients subscribed to a topic, in Bybit's envelope
(``{"topic", "type", "ts", "data"}``). ``drop_connections`` closes every client socket (a
network cut); the clients' subscriptions are counted, so a test can see them come back.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from types import TracebackType
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection, serve


class FakeBybitStream:
    def __init__(self) -> None:
        self.subscriptions: Counter[str] = Counter()
        self._clients: dict[ServerConnection, set[str]] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v5/public/linear"

    def __enter__(self) -> FakeBybitStream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        async def shut() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await serve(self._handle, "127.0.0.1", 0)
            self.port = next(iter(self._server.sockets)).getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def _handle(self, connection: ServerConnection) -> None:
        self._clients[connection] = set()
        try:
            async for raw in connection:
                message = json.loads(raw)
                op = message.get("op")
                if op == "subscribe":
                    for topic in message.get("args", []):
                        self._clients[connection].add(topic)
                        self.subscriptions[topic] += 1
                    await connection.send(json.dumps({
                        "success": True, "ret_msg": "", "conn_id": "fake",
                        "req_id": message.get("req_id", ""), "op": "subscribe",
                    }))  # fmt: skip
                elif op == "ping":
                    await connection.send(json.dumps(
                        {"success": True, "ret_msg": "pong", "conn_id": "fake", "op": "ping"}
                    ))  # fmt: skip
        except websockets.ConnectionClosed:
            pass
        finally:
            self._clients.pop(connection, None)

    # -- scripting --------------------------------------------------------------------------

    def push(self, topic: str, data: Any, kind: str = "snapshot", ts_ms: int | None = None) -> int:
        """Send one message on ``topic`` to its subscribers; how many got it."""
        body = json.dumps({"topic": topic, "type": kind,
                           "ts": ts_ms if ts_ms is not None else int(time.time() * 1000),
                           "data": data})  # fmt: skip

        async def send() -> int:
            targets = [c for c, topics in self._clients.items() if topic in topics]
            for connection in targets:
                await connection.send(body)
            return len(targets)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)

    def drop_connections(self) -> None:
        async def close() -> None:
            for connection in list(self._clients):
                await connection.close(code=1011, reason="fake network cut")

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)

    def subscribed(self, topic: str) -> int:
        return self.subscriptions[topic]
