"""``tradeloop serve scorer``: the ONNX scoring server."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from tradeloop.cli.errors import handled_errors
from tradeloop.core.errors import ConfigError

app = typer.Typer(help="Long-running services.", no_args_is_help=True)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command("scorer")
def scorer(
    host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 5003)", min=1, max=65535)] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
) -> None:
    """Serve the active model over HTTP: POST /score, GET /health, POST /reload (bearer
    TRADELOOP_API_TOKEN), GET /metrics. Serves TRADELOOP_MODEL_PATH instead when set.

    Examples:

      tradeloop serve scorer

      curl -s localhost:5003/health

      curl -s -XPOST localhost:5003/reload -H "Authorization: Bearer $TRADELOOP_API_TOKEN"
    """
    import uvicorn

    from tradeloop.bootstrap.app import build_app, build_scorer
    from tradeloop.settings import load_settings

    with handled_errors():
        application = build_app(load_settings(), config)
        settings = application.config.scorer.with_changes(
            **{k: v for k, v in (("host", host), ("port", port)) if v is not None}
        )
        token = application.settings.api_token
        if settings.host not in LOOPBACK and token is None:
            raise ConfigError(
                f"--host {settings.host}: binding beyond loopback needs TRADELOOP_API_TOKEN set"
            )
        asgi, writer = build_scorer(application, settings)
    logging.basicConfig(
        level=application.settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    health = asgi.service.health()
    print(
        f"scorer on http://{settings.host}:{settings.port} status={health['status']} "
        f"models={health['models']}",
        file=sys.stderr,
        flush=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            asgi,
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_level="warning",
            lifespan="on",
            timeout_keep_alive=5,  # idle connections closed after 5 s
            http="httptools",
            loop="uvloop" if sys.platform != "win32" else "asyncio",
        )
    )
    # Latency: objects alive after loading never need collecting again, and a busy
    # prediction_log writer thread must hand the GIL back within 1 ms, not the default 5 ms.
    gc.freeze()
    sys.setswitchinterval(0.001)
    try:
        server.run()  # SIGTERM / Ctrl-C: graceful; the lifespan shutdown flushes predictions
    finally:
        if writer is not None:
            writer.close()


@app.command("api")
def api(
    host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 5002)", min=1, max=65535)] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
) -> None:
    """Serve the control API and the browser desk: the pages at http://HOST:PORT/ui/
    (desk, live stream, experiments, jobs, model studio, serving registry), the /v1
    control plane (OpenAPI at /docs), GET /health, GET /status, GET /metrics, POST /halt
    {"reason": ...} and POST /resume (changes need Authorization: Bearer
    $TRADELOOP_API_TOKEN; the pages ask for it).

    Examples:

      tradeloop serve api

      curl -s localhost:5002/status

      curl -s -XPOST localhost:5002/halt -H "Authorization: Bearer $TRADELOOP_API_TOKEN" \\
        -d '{"reason": "feed gap"}'
    """
    import os

    import uvicorn

    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings

    with handled_errors():
        application = build_app(load_settings(), config)
        settings = application.config.api.with_changes(
            **{k: v for k, v in (("host", host), ("port", port)) if v is not None}
        )
        if settings.host not in LOOPBACK and application.settings.api_token is None:
            raise ConfigError(
                f"--host {settings.host}: binding beyond loopback needs TRADELOOP_API_TOKEN set"
            )
        if config is not None:
            os.environ["TRADELOOP_CONFIG"] = str(config.resolve())
    print(f"control api on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    # by name: the api layer builds itself from the environment (the cli never imports it)
    uvicorn.run(
        "tradeloop.api.control:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_keep_alive=5,  # idle connections closed after 5 s
        ws="websockets-sansio",  # the pages' order-book stream is mounted at /stream
        ws_per_message_deflate=False,
    )


@app.command("stream")
def stream(
    host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 5004)", min=1, max=65535)] = None,
    instrument: Annotated[
        Path | None, typer.Option(help="instrument file (default: TRADELOOP_INSTRUMENT_CONFIG)")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
) -> None:
    """Serve the order-book stream: WebSocket /v1/stream replays the instrument's MBO files
    as its dense grid, one runtime_config message, then per bin a grid_update JSON header
    and the bin's rows as Arrow IPC. Query: serving, speed (1, 10, max), from, to (ISO).
    A client not on loopback needs Authorization: Bearer $TRADELOOP_API_TOKEN.

    Examples:

      tradeloop serve stream

      python -m websockets "ws://127.0.0.1:5004/v1/stream?speed=max&from=2023-12-25T23:00:00Z"

      curl -s localhost:5004/v1/stream/health
    """
    import os

    import uvicorn

    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.bootstrap.app import load_app_config
    from tradeloop.settings import load_settings

    with handled_errors():
        app_settings = load_settings()
        chosen = instrument or app_settings.instrument_config
        locked, path = wiring.instrument(app_settings, chosen)
        settings = load_app_config(config or app_settings.config)[0].stream.with_changes(
            **{k: v for k, v in (("host", host), ("port", port)) if v is not None}
        )
        if settings.host not in LOOPBACK and app_settings.api_token is None:
            raise ConfigError(
                f"--host {settings.host}: binding beyond loopback needs TRADELOOP_API_TOKEN set"
            )
        if not wiring.mbo_files(app_settings, locked):
            raise ConfigError(f"no MBO files for {locked.symbol}. Fix: tradeloop mbo import FILE")
        # the api layer builds itself from the environment (the cli never imports it)
        os.environ["TRADELOOP_INSTRUMENT_CONFIG"] = str(Path(path).resolve())
        if config is not None:
            os.environ["TRADELOOP_CONFIG"] = str(config.resolve())
    print(
        f"stream of {locked.symbol} on ws://{settings.host}:{settings.port}/v1/stream",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        "tradeloop.api.stream:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        ws="websockets-sansio",
        # Arrow's fixed-width columns gain little from deflate, which would cost more CPU
        # per bin than everything else on the send path
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )
