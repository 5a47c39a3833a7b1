"""Shared test wiring: real services when configured, a clear skip (or failure in CI) when not."""

from __future__ import annotations

import os

import pytest


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
