"""In-memory twins of the ports: Provider, BarStore, ModelRecords, Venue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from tradeloop.data.ports import BarRequest, History, SymbolOutcome
from tradeloop.data.quality import QualityReport
from tradeloop.data.validation import validate_bars
from tradeloop.domain.bar import BAR_KEY, empty_bars
from tradeloop.domain.enums import SymbolState
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.order_manager import VenueFill, VenueOrderStatus
from tradeloop.registry.ports import AliasMove, ModelVersion, PromotionRecord
from tradeloop.usecases.stream_stage import MemoryDecisionLog


class FakeProvider:
    """Serves the frames it was given; counts requests; can be told to fail."""

    def __init__(self, bars: pl.DataFrame, name: str = "fake") -> None:
        self.name = name
        self._by_symbol = {
            str(key[0]): frame for key, frame in bars.partition_by("symbol", as_dict=True).items()
        }
        self.requests: list[BarRequest] = []
        self.error: Exception | None = None

    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_symbol))

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        bars = self._by_symbol.get(request.symbol)
        if bars is None:
            return empty_bars()
        return bars.filter(
            (pl.col("bar_interval_sec") == request.bar_interval_sec)
            & (pl.col("ts") >= request.start_ns)
            & (pl.col("ts") < request.end_ns)
        )


class InMemoryBarStore:
    """BarStore in a Polars frame, idempotent by (symbol, ts, bar_interval_sec)."""

    def __init__(self) -> None:
        self.frame = empty_bars()

    def upsert_bars(self, bars: pl.DataFrame) -> int:
        bars = validate_bars(bars, "bars to store")
        merged = pl.concat([self.frame, bars]).unique(subset=list(BAR_KEY), keep="last")
        self.frame = merged.sort("symbol", "bar_interval_sec", "ts")
        return bars.height

    def load_bars(
        self, symbol: str, bar_interval_sec: int, *, as_of_ns: int | None = None
    ) -> pl.DataFrame:
        selected = self.frame.filter(
            (pl.col("symbol") == symbol) & (pl.col("bar_interval_sec") == bar_interval_sec)
        )
        if as_of_ns is not None:
            selected = selected.filter(pl.col("ts") <= as_of_ns)
        return selected.sort("ts")


class InMemoryModelRecords:
    """ModelRecords in dictionaries, with the same alias semantics as the SQL store."""

    def __init__(self) -> None:
        self.versions: dict[str, ModelVersion] = {}
        self.aliases_by_key: dict[tuple[str, str], str] = {}
        self.audit: list[PromotionRecord] = []

    def add_version(self, version: ModelVersion) -> None:
        self.versions.setdefault(version.model_version_id, version)

    def get_version(self, model_version_id: str) -> ModelVersion | None:
        return self.versions.get(model_version_id)

    def names(self) -> list[str]:
        return sorted({v.name for v in self.versions.values()})

    def list_versions(self, name: str) -> list[ModelVersion]:
        found = [v for v in self.versions.values() if v.name == name]
        return sorted(found, key=lambda v: (v.ts_created, v.model_version_id))

    def aliases(self, name: str) -> dict[str, str]:
        return {alias: vid for (n, alias), vid in self.aliases_by_key.items() if n == name}

    def move_aliases(self, name: str, decide: Callable[[dict[str, str]], AliasMove]) -> AliasMove:
        move = decide(self.aliases(name))
        self.audit.append(move.record)
        if move.applied:
            for alias, version_id in move.updates.items():
                self.aliases_by_key[(name, alias)] = version_id
        return move

    def history(self, name: str, limit: int = 50) -> list[PromotionRecord]:
        return [r for r in reversed(self.audit) if r.name == name][:limit]

    def resolve_alias(self, name: str, alias: str) -> str | None:
        return self.aliases_by_key.get((name, alias))


class RecordingVenue:
    """An exchange that records orders and never fills them (for order-path tests)."""

    def __init__(self) -> None:
        self.orders: list[SubmitOrder] = []
        self._ids: dict[str, str] = {}

    def send(self, order: SubmitOrder) -> str:
        if order.client_order_id not in self._ids:
            self.orders.append(order)
            self._ids[order.client_order_id] = f"rec-{len(self._ids) + 1}"
        return self._ids[order.client_order_id]

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        known = client_order_id in self._ids
        return VenueOrderStatus(client_order_id, OrderState.ACCEPTED) if known else None

    def cancel(self, client_order_id: str) -> VenueOrderStatus | None:
        self.orders = [o for o in self.orders if o.client_order_id != client_order_id]
        return VenueOrderStatus(client_order_id, OrderState.CANCELED)

    def open_orders(self) -> list[VenueOrderStatus]:
        return [VenueOrderStatus(o.client_order_id, OrderState.ACCEPTED) for o in self.orders]

    def fills_for(self, client_order_id: str) -> list[VenueFill]:
        return []

    def on_bar(self, bar: BarView) -> list[VenueFill | VenueOrderStatus]:
        return []


class InMemoryIngestAudit:
    """IngestAudit in lists: runs, per-symbol decisions, governance states and events."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.decisions: list[tuple[str, str, SymbolState, str]] = []
        self.governance: dict[str, SymbolState] = {}
        self.quality: dict[str, QualityReport] = {}
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def start_run(self, run_id: str, mode: str, symbols_requested: int) -> None:
        self.runs[run_id] = {"mode": mode, "status": "RUNNING", "requested": symbols_requested}

    def record_symbol(
        self, run_id: str, report: QualityReport, provider: str, state: SymbolState, reason: str
    ) -> None:
        self.decisions.append((run_id, report.symbol, state, reason))
        self.governance[report.symbol] = state
        self.quality[report.symbol] = report

    def finish_run(self, run_id: str, status: str, **counts: int) -> None:
        self.runs[run_id].update(status=status, **counts)

    def record_event(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None:
        self.events.append((kind, subject, payload))


class InMemoryIngestStore(InMemoryBarStore, InMemoryIngestAudit):
    """IngestStore in memory: bars, per-run decisions, governance, with group commits."""

    def __init__(self) -> None:
        InMemoryBarStore.__init__(self)
        InMemoryIngestAudit.__init__(self)
        self.actions: list[pl.DataFrame] = []
        self.metadata: dict[str, dict[str, str]] = {}
        self.reasons: dict[str, str] = {}

    def commit_symbols(
        self, run_id: str, items: Sequence[tuple[SymbolOutcome, History | None]]
    ) -> dict[str, int]:
        written: dict[str, int] = {}
        for outcome, history in items:
            rows = 0
            if history is not None:
                rows = self.upsert_bars(history.bars) if history.bars.height else 0
                self.actions.append(history.actions)
                self.metadata[outcome.symbol] = dict(history.metadata)
            self.record_symbol(
                run_id, outcome.quality, outcome.provider or "-", outcome.state, outcome.reason
            )
            self.reasons[outcome.symbol] = outcome.reason
            written[outcome.symbol] = rows
        return written

    def load_bars_many(
        self, symbols: Sequence[str], bar_interval_sec: int, start_ns: int, end_ns: int
    ) -> pl.DataFrame:
        return self.frame.filter(
            pl.col("symbol").is_in(list(symbols))
            & (pl.col("bar_interval_sec") == bar_interval_sec)
            & pl.col("ts").is_between(start_ns, end_ns)
        )

    def last_bar_ts(self, symbol: str, bar_interval_sec: int) -> int | None:
        bars = self.load_bars(symbol, bar_interval_sec)
        return int(bars["ts"][-1]) if bars.height else None

    def governance_states(self) -> dict[str, tuple[str, str]]:
        return {s: (state.value, self.reasons.get(s, "")) for s, state in self.governance.items()}


InMemoryDecisionLog = MemoryDecisionLog  # the stream stages' DecisionLog, in memory


class InMemoryRollouts:
    """``store.sql.rollout_records.SqlRolloutStates`` in memory: versioned documents with
    compare-and-set writes."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[int, dict[str, Any]]] = {}

    def get(self, name: str) -> tuple[int, dict[str, Any]] | None:
        got = self.docs.get(name)
        return None if got is None else (got[0], dict(got[1]))

    def put(self, name: str, state: dict[str, Any], version: int, now_ns: int) -> bool:
        current = self.docs.get(name, (0, {}))[0]
        if current != version:
            return False
        self.docs[name] = (version + 1, dict(state))
        return True
