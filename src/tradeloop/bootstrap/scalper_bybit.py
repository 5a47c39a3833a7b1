"""The collector's Bybit source: the public websocket streams through ccxt."""

from __future__ import annotations

from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.core.errors import ConfigError


def bybit_source(app: App, topic: str) -> Any:
    """Bybit V5 public trades, book and klines of ``scalper.symbols`` (linear perpetuals)."""
    try:
        from tradeloop.adapters.venues.bybit_stream import BybitPublicStream, instruments_of
    except ImportError:
        raise ConfigError(
            "scalper.source: bybit needs ccxt. Fix: pip install 'tradeloop[crypto]'"
        ) from None
    scalper = app.config.scalper
    if app.config.venues.bybit_v5.category != "linear":
        raise ConfigError(
            "scalper.source: bybit streams the linear (USDT perpetual) category. Fix: set "
            "venues.bybit_v5.category: linear"
        )
    chosen = {s: i for s, i in scalper.instruments.items() if s in scalper.symbols}
    instruments = instruments_of(chosen, app.config.venues.bybit_v5.symbols)
    return BybitPublicStream(
        instruments, topic, ws_url=scalper.bybit_ws_url, levels=scalper.book_levels
    )
