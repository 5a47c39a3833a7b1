"""Symbol governance: ACTIVE / DEGRADED / QUARANTINED and the trading halt it implies.

ACTIVE       >= required_rows (1260) and quality >= 0.6   -> trading allowed
DEGRADED     degraded_min_rows..required_rows-1, or quality < 0.6 -> trading blocked
QUARANTINED  < degraded_min_rows (1000), or a critical failure     -> trading blocked
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tradeloop.data.config import IngestConfig
from tradeloop.data.quality import QualityReport
from tradeloop.domain.enums import SymbolState


def decide_state(
    rows: int, quality: QualityReport, config: IngestConfig, critical: str | None = None
) -> tuple[SymbolState, str]:
    """The governance state of a symbol and the reason, from its stored history."""
    if critical:
        return SymbolState.QUARANTINED, f"critical failure: {critical}"
    if rows < config.degraded_min_rows:
        return (
            SymbolState.QUARANTINED,
            f"{rows} rows < {config.degraded_min_rows} (quality {quality.score:.3f})",
        )
    if rows < config.required_rows:
        return (
            SymbolState.DEGRADED,
            f"{rows} rows < required {config.required_rows} (quality {quality.score:.3f})",
        )
    if not quality.accepted:
        return SymbolState.DEGRADED, f"quality {quality.score:.3f} < 0.6 ({rows} rows)"
    return SymbolState.ACTIVE, f"{rows} rows, quality {quality.score:.3f}"


@dataclass(frozen=True, slots=True)
class TradingVerdict:
    """Whether trading may start for a set of symbols, and the halt message if not."""

    allowed: bool
    blocked: dict[str, str]
    message: str


def halt_message(symbols_affected: int, required_rows: int) -> str:
    """The runbooks' governance halt block."""
    return "\n".join(
        [
            "[DATA_GOVERNANCE]",
            "Missing historical data detected",
            f"Symbols affected: {symbols_affected}",
            f"Required rows per symbol: {required_rows}",
            "Action required: Run ingest (tradeloop ingest --mode deep_backfill)",
            "System halted intentionally",
        ]
    )


def check_trading_allowed(
    governance: Mapping[str, tuple[str, str]],
    symbols: Iterable[str],
    required_rows: int,
    allow_ungoverned: bool = False,
) -> TradingVerdict:
    """Allow trading only if every symbol is ACTIVE; ``governance`` maps symbol to
    (state, reason). A symbol never ingested is blocked too, unless ``allow_ungoverned``
    (paper trading on bars that never went through governed ingestion, e.g. collected
    intraday bars): DEGRADED and QUARANTINED symbols are blocked either way."""
    blocked = {}
    for symbol in symbols:
        if allow_ungoverned and symbol not in governance:
            continue
        state, reason = governance.get(symbol, ("MISSING", "never ingested"))
        if state != SymbolState.ACTIVE.value:
            blocked[symbol] = f"{state}: {reason}"
    message = halt_message(len(blocked), required_rows) if blocked else ""
    return TradingVerdict(allowed=not blocked, blocked=blocked, message=message)
