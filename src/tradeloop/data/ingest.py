"""Batch ingestion: deep_backfill, incremental, verify and repair.

Two phases per symbol. **Fetch** (pure, may run on Dask workers): route the symbol through
the capability matrix and try each eligible provider; entitlement refusals are never
retried and disable the provider for the rest of the run. **Commit** (this process, the
single writer): merge with stored bars, score quality against the trading calendar,
decide the governance state and write everything in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError, EntitlementError, RetryableError
from tradeloop.core.ids import natural_key_id
from tradeloop.core.time import NS_PER_DAY, iso_from_ns
from tradeloop.data.calendars import expected_sessions, session_window_start
from tradeloop.data.config import IngestConfig, QualityConfig
from tradeloop.data.governance import decide_state
from tradeloop.data.ingest_mode import IngestMode as IngestMode
from tradeloop.data.live_guard import LiveGuard
from tradeloop.data.ports import (
    Attempt,
    BarRequest,
    History,
    IngestStore,
    Provider,
    SymbolOutcome,
    fetch_history,
)
from tradeloop.data.quality import QualityReport, score_quality_many
from tradeloop.data.routing import NO_VALID_PROVIDER, route_symbol
from tradeloop.data.universe import UniverseEntry
from tradeloop.domain.asset_class import AssetClass
from tradeloop.domain.bar import DAILY_SEC

log = logging.getLogger("tradeloop.ingest")

UNREACHABLE_AFTER = 3


@dataclass(frozen=True, slots=True)
class FetchTask:
    """One symbol to fetch: the range, an optional provider, providers disabled so far."""

    symbol: str
    asset_class: AssetClass
    start_ns: int
    end_ns: int
    provider_override: str | None
    disabled: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FetchResult:
    task: FetchTask
    history: History | None
    provider: str | None
    attempts: tuple[Attempt, ...]
    decision: str  # OK | NO_VALID_PROVIDER | FETCH_FAILED
    detail: str


@dataclass(slots=True)
class RunSummary:
    run_id: str
    mode: IngestMode
    outcomes: list[SymbolOutcome] = field(default_factory=list)
    rows_written: int = 0
    alert: str | None = None
    seconds: float = 0.0

    @property
    def rejected(self) -> list[SymbolOutcome]:
        return [o for o in self.outcomes if o.decision not in ("OK", "VERIFIED", "UP_TO_DATE")]

    @property
    def status(self) -> str:
        if not self.outcomes:
            return "OK"
        failed = len(self.rejected)
        return "OK" if failed == 0 else ("FAILED" if failed == len(self.outcomes) else "PARTIAL")


def fetch_symbol(
    task: FetchTask,
    providers: Mapping[str, Provider],
    config: IngestConfig,
    entitled: Mapping[str, bool],
) -> FetchResult:
    """Try the eligible providers in priority order; never raises for a provider failure."""
    history_days = max(1, (task.end_ns - task.start_ns) // NS_PER_DAY)
    priority = (task.provider_override,) if task.provider_override else config.effective_priority()
    route = route_symbol(
        task.symbol,
        task.asset_class,
        history_days,
        capabilities=config.capabilities,
        priority=priority,
        entitled=entitled,
        available=frozenset(providers),
        disabled=dict(task.disabled),
    )
    attempts = [Attempt(name, "SKIPPED", reason) for name, reason in route.skipped]
    if not route.candidates:
        return FetchResult(
            task,
            None,
            None,
            tuple(attempts),
            NO_VALID_PROVIDER,
            f"{NO_VALID_PROVIDER}: {route.explanation}",
        )
    request = BarRequest(task.symbol, task.start_ns, task.end_ns, DAILY_SEC)
    for name in route.candidates:
        try:
            history = fetch_history(providers[name], request)
        except EntitlementError as exc:
            attempts.append(Attempt(name, "NOT_ENTITLED", str(exc)))
        except RetryableError as exc:
            attempts.append(Attempt(name, "RETRY_EXHAUSTED", str(exc)))
        except DataError as exc:
            attempts.append(Attempt(name, "BAD_DATA", str(exc)))
        else:
            if history.bars.is_empty():
                attempts.append(Attempt(name, "BAD_DATA", "no bars in the requested range"))
                continue
            attempts.append(Attempt(name, "OK", "fetched", history.bars.height))
            return FetchResult(task, history, name, tuple(attempts), "OK", "fetched")
    failures = "; ".join(a.detail for a in attempts if a.outcome != "SKIPPED")
    return FetchResult(task, None, None, tuple(attempts), "FETCH_FAILED", failures)


Fetcher = Callable[[FetchTask], FetchResult]
FetchMap = Callable[[Fetcher, list[FetchTask]], Iterable[FetchResult]]
"""Runs a fetcher over tasks (e.g. on a Dask cluster), yielding results as they finish."""


@dataclass(frozen=True, slots=True)
class _Pending:
    entry: UniverseEntry
    result: FetchResult | None
    decision: str


@dataclass(frozen=True, slots=True)
class IngestPlan:
    """What to do: mode, symbols, range (or as_of window), provider override."""

    mode: IngestMode
    entries: tuple[UniverseEntry, ...]
    as_of_ns: int
    start_ns: int | None = None
    provider: str | None = None


class Ingestor:
    """Runs one ingestion; the store is the single writer."""

    def __init__(
        self,
        *,
        store: IngestStore,
        config: IngestConfig,
        quality: QualityConfig,
        guard: LiveGuard,
        on_symbol: Callable[[SymbolOutcome], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.quality = quality
        self.guard = guard
        self.on_symbol = on_symbol or (lambda _outcome: None)

    def window(self, entry: UniverseEntry, plan: IngestPlan) -> tuple[int, int]:
        """[start, end] session stamps of the history governance judges.

        The last ``required_rows`` sessions ending at ``as_of`` (history already stored
        counts, so a shorter explicit range does not demote a symbol whose earlier history
        is there); an explicit range that starts earlier, all of it; for a repair, the
        standard window ending at the newest stored bar.
        """
        if plan.mode is IngestMode.REPAIR:
            last = self.store.last_bar_ts(entry.symbol, DAILY_SEC)
            end = max(last or plan.as_of_ns, plan.as_of_ns)
        else:
            end = plan.as_of_ns
        start = session_window_start(entry.asset_class, self.config.required_rows, end)
        if plan.mode is not IngestMode.REPAIR and plan.start_ns is not None:
            start = min(start, plan.start_ns)
        return start, end

    def fetch_range(self, entry: UniverseEntry, plan: IngestPlan) -> tuple[int, int]:
        """[start, end] of the bars to request: an explicit range as asked, else the
        window governance judges."""
        if plan.start_ns is not None:
            return plan.start_ns, plan.as_of_ns
        return self.window(entry, plan)

    def plan_tasks(self, plan: IngestPlan) -> list[FetchTask]:
        tasks = []
        for entry in plan.entries:
            start, end = self.fetch_range(entry, plan)
            if plan.mode is IngestMode.INCREMENTAL:
                last = self.store.last_bar_ts(entry.symbol, DAILY_SEC)
                if last is not None:
                    start = max(start, last + NS_PER_DAY)
            if start > end:
                continue
            self.guard.check_fetch(entry.symbol, (end - start) // NS_PER_DAY + 1)
            tasks.append(
                FetchTask(entry.symbol, entry.asset_class, start, end + NS_PER_DAY, plan.provider)
            )
        return tasks

    def run(
        self,
        plan: IngestPlan,
        *,
        fetcher: Fetcher,
        fetch_map: FetchMap | None = None,
        run_id: str | None = None,
    ) -> RunSummary:
        """Ingest ``plan``; returns the per-symbol outcomes and the run status."""
        started = time.perf_counter()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        run_id = run_id or f"ingest-{stamp}-{natural_key_id((time.time_ns(), plan.mode), 6)}"
        summary = RunSummary(run_id, plan.mode)
        self.store.start_run(run_id, plan.mode.value, len(plan.entries))
        try:
            if plan.mode is IngestMode.VERIFY:
                self._commit_all(
                    summary, plan, [_Pending(entry, None, "VERIFIED") for entry in plan.entries]
                )
            else:
                self._fetch_and_commit(summary, plan, fetcher, fetch_map)
        except BaseException:
            self.store.finish_run(
                run_id,
                "ABORTED",
                rows_written=summary.rows_written,
                symbols_ok=len(summary.outcomes) - len(summary.rejected),
                symbols_rejected=len(summary.rejected),
            )
            raise
        summary.alert = self._rejection_alert(summary)
        summary.seconds = time.perf_counter() - started
        self.store.finish_run(
            run_id,
            summary.status,
            rows_written=summary.rows_written,
            symbols_ok=len(summary.outcomes) - len(summary.rejected),
            symbols_rejected=len(summary.rejected),
        )
        return summary

    def _fetch_and_commit(
        self,
        summary: RunSummary,
        plan: IngestPlan,
        fetcher: Fetcher,
        fetch_map: FetchMap | None,
    ) -> None:
        tasks = self.plan_tasks(plan)
        planned = {task.symbol for task in tasks}
        by_symbol = {entry.symbol: entry for entry in plan.entries}
        self._commit_all(
            summary,
            plan,
            [
                _Pending(entry, None, "UP_TO_DATE")
                for entry in plan.entries
                if entry.symbol not in planned
            ],
        )
        batch: list[_Pending] = []
        for result in self._results(tasks, fetcher, fetch_map):
            batch.append(_Pending(by_symbol[result.task.symbol], result, "OK"))
            if len(batch) >= self.config.commit_batch_symbols:
                self._commit_batch(summary, plan, batch)
                batch = []
        self._commit_batch(summary, plan, batch)

    @staticmethod
    def _results(
        tasks: list[FetchTask], fetcher: Fetcher, fetch_map: FetchMap | None
    ) -> Iterator[FetchResult]:
        if fetch_map is not None:
            yield from fetch_map(fetcher, tasks)
            return
        # In process, what one symbol learns about a provider spares the next ones: a
        # refusal (400/401/403) disables it at once, repeated exhausted retries after
        # UNREACHABLE_AFTER symbols in a row.
        disabled: dict[str, str] = {}
        failures: dict[str, int] = {}
        for task in tasks:
            task = FetchTask(
                task.symbol,
                task.asset_class,
                task.start_ns,
                task.end_ns,
                task.provider_override,
                tuple(disabled.items()),
            )
            result = fetcher(task)
            for attempt in result.attempts:
                if attempt.outcome == "NOT_ENTITLED":
                    disabled[attempt.provider] = "refused access earlier in this run"
                elif attempt.outcome == "RETRY_EXHAUSTED":
                    failures[attempt.provider] = failures.get(attempt.provider, 0) + 1
                    if failures[attempt.provider] >= UNREACHABLE_AFTER:
                        disabled[attempt.provider] = (
                            f"unreachable: {UNREACHABLE_AFTER} symbols in a row failed "
                            "after all retries earlier in this run"
                        )
                elif attempt.outcome in ("OK", "BAD_DATA"):
                    failures[attempt.provider] = 0
            yield result

    def _commit_all(self, summary: RunSummary, plan: IngestPlan, items: list[_Pending]) -> None:
        step = self.config.commit_batch_symbols
        for index in range(0, len(items), step):
            self._commit_batch(summary, plan, items[index : index + step])

    def _commit_batch(self, summary: RunSummary, plan: IngestPlan, batch: list[_Pending]) -> None:
        """Judge a batch of symbols against their stored history and write it in one
        transaction."""
        if not batch:
            return
        windows = {item.entry.symbol: self.window(item.entry, plan) for item in batch}
        stored = self.store.load_bars_many(
            list(windows),
            DAILY_SEC,
            min(start for start, _ in windows.values()),
            max(end for _, end in windows.values()),
        )
        fetched = [
            item.result.history.bars
            for item in batch
            if item.result is not None and item.result.history is not None
        ]
        bounds = pl.DataFrame(
            {
                "symbol": list(windows),
                "w_start": [w[0] for w in windows.values()],
                "w_end": [w[1] for w in windows.values()],
            },
            schema={"symbol": pl.String, "w_start": pl.Int64, "w_end": pl.Int64},
        )
        merged = (
            pl.concat([stored, *fetched])
            .unique(subset=["symbol", "ts", "bar_interval_sec"], keep="last", maintain_order=True)
            .join(bounds, on="symbol")
            .filter(pl.col("ts").is_between(pl.col("w_start"), pl.col("w_end")))
            .drop("w_start", "w_end")
        )
        calendars: dict[tuple[AssetClass, int, int], np.ndarray] = {}
        expected = {}
        for item in batch:
            key = (item.entry.asset_class, *windows[item.entry.symbol])
            if key not in calendars:
                calendars[key] = expected_sessions(*key)
            expected[item.entry.symbol] = calendars[key]
        reports = score_quality_many(merged, expected, self.quality)
        outcomes = [self._decide(item, reports[item.entry.symbol]) for item in batch]
        written = self.store.commit_symbols(summary.run_id, outcomes)
        for outcome, _ in outcomes:
            summary.rows_written += written.get(outcome.symbol, 0)
            summary.outcomes.append(outcome)
            log.info(
                "ingest %s %s: %s %s (%s)",
                summary.run_id,
                outcome.symbol,
                outcome.decision,
                outcome.state.value,
                outcome.reason,
            )
            self.on_symbol(outcome)

    def _decide(
        self, item: _Pending, report: QualityReport
    ) -> tuple[SymbolOutcome, History | None]:
        result, entry = item.result, item.entry
        decision = item.decision
        critical = None
        if result is not None and result.decision != "OK" and report.rows == 0:
            critical = result.detail
        state, reason = decide_state(report.rows, report, self.config, critical)
        if result is not None and result.decision != "OK":
            decision = result.decision
            if not critical:
                reason = f"{reason}; fetch failed: {result.detail}"
        elif result is not None:
            decision = "OK" if report.accepted else "REJECTED"
        history = result.history if result and result.history and report.accepted else None
        if result is not None and result.history is not None and not report.accepted:
            reason = f"{reason}; fetched bars rejected, nothing stored"
        outcome = SymbolOutcome(
            symbol=entry.symbol,
            asset_class=entry.asset_class.value,
            provider=result.provider if result else None,
            attempts=result.attempts if result else (),
            quality=report,
            state=state,
            reason=reason,
            decision=decision,
        )
        return outcome, history

    def _rejection_alert(self, summary: RunSummary) -> str | None:
        if not summary.outcomes:
            return None
        rate = 100.0 * len(summary.rejected) / len(summary.outcomes)
        if rate <= self.config.max_rejection_rate_pct:
            return None
        message = (
            f"ingest run {summary.run_id}: rejection rate {rate:.1f}% > "
            f"{self.config.max_rejection_rate_pct}% ({len(summary.rejected)} of "
            f"{len(summary.outcomes)} symbols)"
        )
        log.warning("ALERT %s", message)
        self.store.record_event(
            "alert_ingest_rejection_rate",
            summary.run_id,
            {
                "rate_pct": rate,
                "rejected": [o.symbol for o in summary.rejected],
                "as_of": iso_from_ns(int(time.time_ns())),
            },
            "ingest",
        )
        return message
