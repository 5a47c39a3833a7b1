"""A scripted HTTP server on 127.0.0.1 for testing provider adapters against real sockets.

Script responses per path (query string ignored); each request pops the next response
for its path, and the last one repeats::

    with FakeHttpServer() as server:
        server.script("/v2/aggs/ticker/AAPL/range/1/day/2020-01-01/2020-12-31",
                      Reply(429, {"status": "ERROR"}, headers={"Retry-After": "1"}),
                      Reply(200, payload))
        client = HttpJsonClient("polygon", server.url, ...)
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """One scripted response: a JSON-able body (or raw bytes), status, headers, delay."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None


@dataclass(frozen=True)
class SeenRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    method: str = "GET"


class FakeHttpServer:
    """Threaded HTTP server bound to 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        self._scripts: dict[str, list[Reply]] = defaultdict(list)
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests.append(
                        SeenRequest(
                            parts.path,
                            parse_qs(parts.query),
                            dict(self.headers),
                            body,
                            self.command,
                        )
                    )
                    script = server._scripts.get(parts.path)
                    reply = (script.pop(0) if len(script) > 1 else script[0]) if script else None
                if reply is None:
                    reply = Reply(404, {"error": f"no script for {parts.path}"})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[path] = list(replies)

    def hits(self, path: str) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def __enter__(self) -> FakeHttpServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
