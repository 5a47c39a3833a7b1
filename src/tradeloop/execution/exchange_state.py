"""Persisting the simulated exchange, so a paper account survives a restart.

The whole venue (resting and finished orders, fills, positions, id sequence) is one JSON
document written atomically (temporary file, fsync, rename): after a crash the file is the
last complete state, never a torn one. Decimals are stored as strings, exactly.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from tradeloop.core.errors import DataError
from tradeloop.execution.sim_exchange import STATE_VERSION, ExchangeModel, SimulatedExchange


def save_exchange(exchange: SimulatedExchange, path: Path) -> None:
    """Write the exchange's state to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(exchange.state(), separators=(",", ":"), sort_keys=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_exchange(path: Path, model: ExchangeModel, clock: Callable[[], int]) -> SimulatedExchange:
    """The exchange saved at ``path`` (a fresh one when the file does not exist)."""
    exchange = SimulatedExchange(model, clock)
    if not path.exists():
        return exchange
    try:
        state = json.loads(path.read_text())
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"version {state.get('version')!r}, expected {STATE_VERSION}")
        exchange.restore(state)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"paper venue state {path} is unreadable ({exc}); it is never rewritten blindly. "
            "Fix: restore it from a backup, or move it away to start a new paper account."
        ) from None
    return exchange
