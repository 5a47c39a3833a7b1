"""Persisting the simulated exchange, so a paper account survives a restart.

The whole venue (resting and finished orders, fills, positions, id sequence) is one JSON
document written atomically (temporary file, fsync, rename): after a crash the file is the
last complete state, never a torn one. Decimals are stored as strings, exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from tradeloop.core.atomic_file import write_atomic
from tradeloop.core.errors import DataError
from tradeloop.execution.sim_exchange import STATE_VERSION, ExchangeModel, SimulatedExchange


def save_exchange(exchange: SimulatedExchange, path: Path) -> None:
    """Write the exchange's state to ``path`` atomically."""
    write_atomic(path, json.dumps(exchange.state(), separators=(",", ":"), sort_keys=True))


def load_exchange(
    path: Path,
    model: ExchangeModel,
    clock: Callable[[], int],
    id_prefix: str = "sim",
    cash: Callable[[], Decimal] | None = None,
) -> SimulatedExchange:
    """The exchange saved at ``path`` (a fresh one when the file does not exist); ``cash``
    is the account's cash, for the buying-power check at fill time."""
    exchange = SimulatedExchange(model, clock, id_prefix=id_prefix, cash=cash)
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
