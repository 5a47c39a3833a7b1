"""Shared test wiring: real services when configured, a clear skip (or failure in CI) when not."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, make_url, text

from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.tables import metadata

# CI explores a fixed set of examples (the same on every run, so a red build is never the
# luck of the draw); a developer's run draws new ones and keeps failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


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
    return _worker_database(service_url("TRADELOOP_TEST_PG_URL", "PostgreSQL tests"))


def _worker_database(url: str) -> str:
    """Under pytest-xdist, a database of this worker's own (``<name>_gw0``, created on first
    use), so that tests resetting their schema never meet on one database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            if connection.execute(query, {"name": name}).scalar() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


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
