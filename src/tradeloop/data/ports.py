"""Ports of the data layer: where bars come from and where they are kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from tradeloop.data.quality import QualityReport
from tradeloop.domain.enums import SymbolState


@dataclass(frozen=True, slots=True)
class BarRequest:
    """What to fetch: one symbol, a half-open time range [start_ns, end_ns), an interval."""

    symbol: str
    start_ns: int
    end_ns: int
    bar_interval_sec: int

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError(
                f"BarRequest for {self.symbol}: end ({self.end_ns}) must be after "
                f"start ({self.start_ns})"
            )
        if self.bar_interval_sec <= 0:
            raise ValueError(f"bar_interval_sec must be > 0, got {self.bar_interval_sec}")


class Provider(Protocol):
    """A source of bars. Returns a frame with ``BAR_SCHEMA`` columns, sorted by ts."""

    name: str

    def symbols(self) -> tuple[str, ...]:
        """Symbols this provider can serve (empty when it serves any symbol)."""
        ...

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        """Return the bars of ``request`` (possibly empty); raise DataError on bad data."""
        ...


class BarStore(Protocol):
    """Durable bar storage, idempotent by ``(symbol, ts, bar_interval_sec)``."""

    def upsert_bars(self, bars: pl.DataFrame) -> int:
        """Insert or replace bars in one transaction; return the number of rows written."""
        ...

    def load_bars(
        self, symbol: str, bar_interval_sec: int, *, as_of_ns: int | None = None
    ) -> pl.DataFrame:
        """Bars of ``symbol`` with ``ts <= as_of_ns`` (all when None), sorted by ts."""
        ...


class IngestAudit(Protocol):
    """Where ingestion records what it decided for each run and symbol."""

    def start_run(self, run_id: str, mode: str, symbols_requested: int) -> None: ...

    def record_symbol(
        self, run_id: str, report: QualityReport, provider: str, state: SymbolState, reason: str
    ) -> None:
        """Store the quality score, the governance state and an audit line atomically."""
        ...

    def finish_run(self, run_id: str, status: str, **counts: int) -> None: ...

    def record_event(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None:
        """Append a generic audit event."""
        ...


ACTIONS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "ts": pl.Int64(),
    "kind": pl.String(),
    "value": pl.Float64(),
    "source": pl.String(),
}
"""Corporate actions: ``kind`` is ``split`` (ratio new/old) or ``dividend`` (cash/share)."""


@dataclass(frozen=True, slots=True)
class History:
    """Everything one fetch returned: bars, corporate actions and symbol metadata."""

    bars: pl.DataFrame
    actions: pl.DataFrame
    metadata: dict[str, str]


class HistoryProvider(Provider, Protocol):
    """A provider that also returns corporate actions and metadata in the same fetch."""

    def fetch_history(self, request: BarRequest) -> History:
        """Bars plus splits, dividends and metadata for ``request``."""
        ...


def fetch_history(provider: Provider, request: BarRequest) -> History:
    """Ask ``provider`` for the richest answer it can give."""
    rich = getattr(provider, "fetch_history", None)
    if callable(rich):
        result = rich(request)
        assert isinstance(result, History)
        return result
    return History(provider.fetch_bars(request), pl.DataFrame(schema=ACTIONS_SCHEMA), {})


@dataclass(frozen=True, slots=True)
class Attempt:
    """One provider tried for one symbol, and what came of it."""

    provider: str
    outcome: str  # OK | NOT_ENTITLED | RETRY_EXHAUSTED | BAD_DATA | SKIPPED
    detail: str
    rows: int = 0


@dataclass(frozen=True, slots=True)
class SymbolOutcome:
    """What ingestion decided for one symbol in one run."""

    symbol: str
    asset_class: str
    provider: str | None
    attempts: tuple[Attempt, ...]
    quality: QualityReport
    state: SymbolState
    reason: str
    decision: str  # OK | REJECTED | NO_VALID_PROVIDER | FETCH_FAILED | VERIFIED | UP_TO_DATE


class IngestStore(BarStore, IngestAudit, Protocol):
    """Ingestion's durable side: bars, actions, metadata, quality, governance, audit."""

    def commit_symbols(
        self, run_id: str, items: Sequence[tuple[SymbolOutcome, History | None]]
    ) -> dict[str, int]:
        """Write the symbols' bars and everything ingestion decided in ONE transaction;
        return the bar rows written per symbol."""
        ...

    def load_bars_many(
        self, symbols: Sequence[str], bar_interval_sec: int, start_ns: int, end_ns: int
    ) -> pl.DataFrame:
        """Stored bars of ``symbols`` with ``start_ns <= ts <= end_ns``."""
        ...

    def last_bar_ts(self, symbol: str, bar_interval_sec: int) -> int | None:
        """The newest stored bar's ts, or None."""
        ...

    def governance_states(self) -> dict[str, tuple[str, str]]:
        """symbol -> (state, reason) for every governed symbol."""
        ...
