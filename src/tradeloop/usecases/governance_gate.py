"""The one governance check every trading entry point calls before it trades."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from tradeloop.core.errors import GovernanceHalt
from tradeloop.core.time import iso_from_ns
from tradeloop.data.governance import check_trading_allowed


def require_tradeable(
    governance: Mapping[str, tuple[str, str]],
    symbols: Iterable[str],
    required_rows: int,
    halt_log: Path,
    now_ns: int,
    allow_ungoverned: bool = False,
) -> None:
    """Return if every symbol is ACTIVE (or, with ``allow_ungoverned``, has no governance
    record at all); otherwise append the runbooks' halt block to ``halt_log`` and raise
    GovernanceHalt with it."""
    verdict = check_trading_allowed(governance, symbols, required_rows, allow_ungoverned)
    if verdict.allowed:
        return
    details = "\n".join(f"  {symbol}: {why}" for symbol, why in sorted(verdict.blocked.items()))
    block = f"{iso_from_ns(now_ns)}\n{verdict.message}\n{details}\n"
    halt_log.parent.mkdir(parents=True, exist_ok=True)
    with halt_log.open("a", encoding="utf-8") as handle:
        handle.write(block + "\n")
    raise GovernanceHalt(verdict.message + "\n" + details)
