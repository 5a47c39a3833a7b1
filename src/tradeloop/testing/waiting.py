"""Waiting in tests for something observable (a row, a file, a log line), never for time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], bool],
    what: str,
    timeout_s: float = 60.0,
    interval_s: float = 0.01,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after
    ``timeout_s``, or as soon as ``alive`` (the process being watched) says it ended."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if alive is not None and not alive():
            raise AssertionError(f"the process ended before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout_s:g} s")
        time.sleep(interval_s)
