"""Shared test wiring: real services when configured, a clear skip (or failure in CI) when not."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.tables import metadata


def service_url(variable: str, what: str) -> str:
    """The URL in ``variable``; skip without it, unless CI demands the service."""
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("TRADELOOP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{variable} is not set but TRADELOOP_REQUIRE_SERVICES=1: {what} must run")
    pytest.skip(f"{what}: set {variable} to run against a real server")


@pytest.fixture
def pg_url() -> str:
    return service_url("TRADELOOP_TEST_PG_URL", "PostgreSQL tests")


@pytest.fixture
def redis_url() -> str:
    return service_url("TRADELOOP_TEST_REDIS_URL", "Redis tests")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated database: SQLite in tmp_path, or the CI's real PostgreSQL."""
    url = (
        f"sqlite:///{tmp_path / 'test.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    database = open_engine(url)
    with database.begin() as connection:
        metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(database)
    yield database
    database.dispose()


# Tests that share one outside resource run on one xdist worker, one after another: every
# PostgreSQL test resets the same database; `tradeloop up` binds the services' default ports.
_SHARED_FILES = {"test_stack.py": "default-ports"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        params = getattr(item, "callspec", None)
        uses_pg = "pg_url" in getattr(item, "fixturenames", ()) or (
            params is not None and params.params.get("engine") == "postgresql"
        )
        group = "postgresql" if uses_pg else _SHARED_FILES.get(item.path.name)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
