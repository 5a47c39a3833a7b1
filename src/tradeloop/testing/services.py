"""Skips that CI turns into failures: a test of an optional part must run where it is due.

With ``TRADELOOP_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing module fails the test
module instead of skipping it quietly, like the service fixtures in ``tests/conftest.py``.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def optional_module(name: str, reason: str) -> ModuleType:
    """Import ``name``; skip the calling test module without it, unless CI requires it."""
    import pytest

    if os.environ.get("TRADELOOP_REQUIRE_SERVICES") != "1":
        module: ModuleType = pytest.importorskip(name, reason=reason)
        return module
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(
            f"{name} is not importable but TRADELOOP_REQUIRE_SERVICES=1: {reason} ({exc})",
            pytrace=False,
        )
