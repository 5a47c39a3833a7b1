"""The browser desk's wiring: what its page reads."""

from __future__ import annotations

from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.usecases.desk_view import DeskView


def desk_view(app: App) -> DeskView:
    from tradeloop.store.sql.desk_queries import SqlDeskQueries

    def aliases() -> dict[str, dict[str, str]]:
        registry = app.registry()
        return {name: registry.aliases(name) for name in registry.names()}

    def exposure() -> dict[str, Any]:
        import time

        from tradeloop.bootstrap.rollout import exposure_view

        return exposure_view(app, time.time_ns())

    return DeskView(app.settings.home, SqlDeskQueries(app.engine), aliases, exposure)
