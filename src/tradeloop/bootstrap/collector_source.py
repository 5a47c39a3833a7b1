"""The collector composed: its settings, its bar source by name (a configured provider, or
``replay`` of one provider's recent bars on the wall clock; the replay adapter is chosen
here only), its stores and its scorer client."""

from __future__ import annotations

import time
from typing import Any

import polars as pl

from tradeloop.adapters.replay import ReplayProvider
from tradeloop.bootstrap.app import App, build_providers, collector_config
from tradeloop.core.errors import ConfigError
from tradeloop.core.time import NS_PER_DAY
from tradeloop.data.ports import BarRequest, Provider
from tradeloop.ops.scoring_client import ScorerClient, prediction_rows
from tradeloop.usecases.collector import Collector
from tradeloop.usecases.collector_config import CollectorConfig


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


def collector_settings(
    app: App, updates: dict[str, Any], *, serves_health: bool = True
) -> CollectorConfig:
    """The collector config (file, then LIVE_COLLECTOR_*, then ``updates`` from the
    command line); refuses to bind /health beyond loopback without an API token."""
    settings = collector_config(app.config).with_changes(**updates)
    loopback = settings.host in ("127.0.0.1", "localhost", "::1")
    if serves_health and not loopback and not app.settings.api_token:
        raise ConfigError(
            f"--host {settings.host}: binding beyond loopback needs TRADELOOP_API_TOKEN set"
        )
    return settings


def build_collector(app: App, settings: CollectorConfig, replay_source: str) -> Collector:
    """The collector on its source, the ingest and event stores, and (``score_enabled``)
    the scorer client whose predictions land in ``prediction_log``."""
    provider = collector_provider(
        app,
        settings.source,
        settings.symbols,
        settings.bar_interval_s,
        settings.range_days,
        replay_source,
        settings.replay_speed,
    )
    store = app.ingest_store()
    scorer = None
    if settings.score_enabled:
        token = app.settings.api_token
        client = ScorerClient(
            settings.scorer_url, token=token.get_secret_value() if token else None
        )

        def scorer(events: pl.DataFrame) -> int:
            answer = client.score(events)
            return app.log_predictions(prediction_rows(events, answer, time.time_ns()))

    return Collector(
        provider=provider,
        bars=store,
        events=app.event_store(),
        last_bar_ts=store.last_bar_ts,
        config=settings,
        pivots=app.config.pivots,
        clock_ns=getattr(provider, "now_ns", time.time_ns),
        scorer=scorer,
    )
