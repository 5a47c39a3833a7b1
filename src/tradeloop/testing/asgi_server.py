"""A real uvicorn server for an ASGI app, on a thread, on a free port (tests of the
stream and other servers through real sockets)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from tradeloop.testing.waiting import wait_until


@contextmanager
def serving(
    app: Any, host: str = "127.0.0.1", lifespan: Literal["on", "off"] = "off"
) -> Iterator[int]:
    """Serve ``app`` on ``host`` at a free port; yields the port; stops on exit.
    ``lifespan="on"`` runs the app's startup and shutdown as ``tradeloop serve`` does."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=0,
        log_level="warning",
        lifespan=lifespan,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="asgi-server", daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the server listening", alive=thread.is_alive)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)
