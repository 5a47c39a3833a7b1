"""The browser desk's wiring: what its page reads."""

from __future__ import annotations

from tradeloop.bootstrap.app import App
from tradeloop.usecases.desk_view import DeskView


def desk_view(app: App) -> DeskView:
    from tradeloop.store.sql.desk_queries import SqlDeskQueries

    def aliases() -> dict[str, dict[str, str]]:
        registry = app.registry()
        return {name: registry.aliases(name) for name in registry.names()}

    return DeskView(app.settings.home, SqlDeskQueries(app.engine), aliases)
