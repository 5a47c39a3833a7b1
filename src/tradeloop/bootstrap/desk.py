"""The browser desk's wiring: what its page reads, and the order-book stream mounted on
the same origin when this project has MBO data."""

from __future__ import annotations

import logging
from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.settings import Settings
from tradeloop.usecases.desk_view import DeskView

log = logging.getLogger("tradeloop.bootstrap")


def desk_view(app: App) -> DeskView:
    from tradeloop.store.sql.desk_queries import SqlDeskQueries

    def aliases() -> dict[str, dict[str, str]]:
        registry = app.registry()
        return {name: registry.aliases(name) for name in registry.names()}

    return DeskView(app.settings.home, SqlDeskQueries(app.engine), aliases)


def stream_app(settings: Settings) -> Any:
    """The stream's app for ``/stream`` on the control plane, or None (said in the log)
    when there is no instrument or no imported MBO file."""
    from tradeloop.api.stream import create_stream_app
    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.bootstrap.app import load_app_config
    from tradeloop.bootstrap.research import live_session_log, serving_catalog
    from tradeloop.core.errors import ConfigError, DataError

    try:
        config = load_app_config(settings.config)[0].stream
        instrument, _ = wiring.instrument(settings, None)
        files = wiring.mbo_files(settings, instrument)
    except (ConfigError, DataError, OSError) as exc:
        log.warning("no order-book stream on the desk: %s", exc)
        return None
    if not files:
        log.warning("no order-book stream on the desk: no MBO files (tradeloop mbo import)")
        return None
    token = settings.api_token
    return create_stream_app(
        instrument, serving_catalog(settings, instrument),
        wiring.stream_replay(settings, instrument, files),
        api_token=token.get_secret_value() if token else None, queue_bins=config.queue_bins,
        default_speed=config.default_speed, sessions=live_session_log(settings),
    )  # fmt: skip
