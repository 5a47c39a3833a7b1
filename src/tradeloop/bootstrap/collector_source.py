"""The collector's bar source by name: a configured provider, or ``replay`` of one
provider's recent bars on the wall clock (the replay adapter is chosen here only)."""

from __future__ import annotations

import time

import polars as pl

from tradeloop.adapters.replay import ReplayProvider
from tradeloop.bootstrap import App, build_providers
from tradeloop.core.errors import ConfigError
from tradeloop.core.time import NS_PER_DAY
from tradeloop.data.ports import BarRequest, Provider


def collector_provider(
    app: App,
    source: str,
    symbols: tuple[str, ...],
    interval: int,
    range_days: float,
    replay_source: str,
    speed: float,
) -> Provider:
    providers = build_providers(app.provider_spec(None))
    if source != "replay":
        if source not in providers:
            raise ConfigError(f"--source {source!r}: known sources {sorted(providers)} and replay")
        return providers[source]
    if replay_source not in providers:
        raise ConfigError(f"--replay-source {replay_source!r}: known {sorted(providers)}")
    now = time.time_ns()
    start = now - int(range_days * NS_PER_DAY)
    recorded = [
        providers[replay_source].fetch_bars(BarRequest(symbol, start, now, interval))
        for symbol in symbols
    ]
    bars = pl.concat(recorded)
    if bars.is_empty():
        raise ConfigError(f"--replay-source {replay_source}: no bars to replay in the range")
    first = int(bars["ts"].min())  # type: ignore[arg-type]
    return ReplayProvider(bars, start_ns=first, speed=speed, clock_ns=time.time_ns)
