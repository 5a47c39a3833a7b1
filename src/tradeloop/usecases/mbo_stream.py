"""The order-book stream: a replay of the instrument's MBO files, cut into one message per
bin (a ``grid_update`` header and the bin's silver rows as Arrow IPC), paced at 1x, Nx or
as fast as it goes. What a client sees first is the ``runtime_config`` message.

Pacing follows the bins' own times: bin ``n`` is released ``(end_n - end_0) / speed``
after the first, whatever the engine's speed; a stop event ends it at once.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.domain.live_session import LiveSession
from tradeloop.features.book.events import PRICE_SCALE
from tradeloop.features.book.grid import SILVER_COLS
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.features.book.ports import MboSource
from tradeloop.features.book.wire import GRID_SCHEMA, grid_batch, ipc_bytes
from tradeloop.research.serving_registry import ServingRegistry
from tradeloop.store.book_cache import BookCache
from tradeloop.usecases.mbo_replay import grid_chunks

PROTOCOL_VERSION = 1


class UnknownServing(DataError):
    """A ``serving`` the stream does not know (the client is told which it does)."""


def parse_speed(text: str) -> float | None:
    """``1``, ``10``, ``2.5x`` -> times real time; ``max`` -> None (as fast as it goes)."""
    value = text.strip().lower()
    if value == "max":
        return None
    try:
        speed = float(value.removesuffix("x"))
    except ValueError:
        speed = 0.0
    if not 0 < speed <= 1_000_000:
        raise DataError(f"speed {text!r}: not a replay speed. Fix: 1, 10 (times real time) or max")
    return speed


@dataclass(frozen=True, slots=True)
class StreamRequest:
    serving: str | None = None
    speed: float | None = 1.0  # None: as fast as it goes
    from_ns: int | None = None
    to_ns: int | None = None
    grid: tuple[int, int] | None = None  # the serving's (cell_width_ms, half width), if its own


def request_instrument(instrument: InstrumentConfig, request: StreamRequest) -> InstrumentConfig:
    """The instrument as the request grids it (a serving made on 1 s bins streams 1 s bins)."""
    if request.grid is None:
        return instrument
    width, half = request.grid
    return instrument.with_changes(cell_width_ms=width, grid_half_width_ticks=half)


class ServingCatalog(Protocol):
    """Resolves a ``serving`` (alias or id) to what the stream runs; None: the default."""

    def resolve(self, name: str | None) -> dict[str, Any]: ...


class InstrumentServing:
    """The one serving a bare instrument has: its silver grid, gold from its gold section
    (the serving registry of the research platform offers more)."""

    def __init__(self, instrument: InstrumentConfig) -> None:
        self.instrument = instrument

    def resolve(self, name: str | None) -> dict[str, Any]:
        known = ("default", self.instrument.symbol)
        if name not in (None, "", *known):
            raise UnknownServing(
                f"serving {name!r} is not known here. Fix: ?serving=default (the servings of "
                f"this stream: {', '.join(known)})"
            )
        return {
            "id": "default",
            "alias": name or "default",
            "model": "vacuum_pressure",
            "gold": self.instrument.gold.model_dump(),
            "overlays": [],
        }


class RegistryServing:
    """Servings from the serving registry: ``?serving=`` an alias or a published id (its
    gold parameters, signal and overlays go to the client in ``runtime_config``); none or
    ``default``: the instrument's own."""

    def __init__(self, instrument: InstrumentConfig, registry: ServingRegistry) -> None:
        self.instrument = instrument
        self.registry = registry
        self.default = InstrumentServing(instrument)

    def resolve(self, name: str | None) -> dict[str, Any]:
        if name in (None, "", "default", self.instrument.symbol):
            return self.default.resolve(name)
        try:
            published = self.registry.resolve(str(name))
        except ConfigError:
            known = sorted(self.registry.activations.aliases())
            raise UnknownServing(
                f"serving {name!r} is not an alias or a published serving. Fix: one of "
                f"{', '.join(['default', *known])}"
            ) from None
        recorded = published.runtime_snapshot.get("instrument", {})
        symbol = recorded.get("symbol")
        if (
            symbol != self.instrument.symbol
            or recorded.get("tick_size") != self.instrument.tick_size
        ):
            raise UnknownServing(
                f"serving {name!r} is for {symbol}; this stream serves {self.instrument.symbol}"
                ". Fix: ask the stream of that instrument"
            )
        return {
            "id": published.serving_id,
            "alias": name,
            "name": published.name,
            "model": "vacuum_pressure",
            "gold": published.spec.gold.model_dump(),
            "signal": {
                "name": published.spec.signal.name,
                "params": published.spec.signal.resolved(),
            },
            "overlays": [o.model_dump() for o in published.spec.overlays],
            "grid": {
                "cell_width_ms": recorded.get("cell_width_ms", self.instrument.cell_width_ms),
                "grid_half_width_ticks": recorded.get(
                    "grid_half_width_ticks", self.instrument.grid_half_width_ticks
                ),
            },
        }


def runtime_config(
    instrument: InstrumentConfig, serving: dict[str, Any], request: StreamRequest, queue: int
) -> dict[str, Any]:
    """The stream's first message: everything a client needs to read what follows."""
    return {
        "type": "runtime_config",
        "protocol_version": PROTOCOL_VERSION,
        "instrument": {
            "symbol": instrument.symbol,
            "dataset": instrument.dataset,
            "product_type": instrument.product_type,
            "tick_size": instrument.tick_size,
            "price_scale": PRICE_SCALE,
            "cell_width_ms": instrument.cell_width_ms,
            "grid_half_width_ticks": instrument.grid_half_width_ticks,
            "rows_per_bin": 2 * instrument.grid_half_width_ticks + 1,
            "ema": instrument.ema.model_dump(),
            "session": instrument.session.model_dump(),
        },
        "serving": serving,
        "schema": [{"name": f.name, "type": str(f.type)} for f in GRID_SCHEMA],
        "speed": "max" if request.speed is None else request.speed,
        "from_ns": request.from_ns,
        "to_ns": request.to_ns,
        "queue_bins": queue,
    }


class LiveSessionLog(Protocol):
    """Where the stream records its clients' sessions (``ingestion_live_session``)."""

    def opened(self, session: LiveSession) -> None: ...
    def closed(self, session_id: str, state: str, sent: int, dropped: int, error: str | None,
               now: int) -> None: ...  # fmt: skip
    def interrupt_open(self, now: int) -> int: ...
    def recent(self, limit: int = 100) -> list[LiveSession]: ...


@dataclass(frozen=True, slots=True)
class BinMessage:
    """One bin on the wire: its header (sent as JSON) and its rows (Arrow IPC bytes)."""

    seq: int
    header: dict[str, Any]
    payload: bytes


_HEADER_COLS = ("bin_end_ns", "best_bid", "best_ask", "mid", "valid", "k")


def _header(seq: int, rows: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        "type": "grid_update",
        "seq": seq,
        "bin_end_ns": int(rows["bin_end_ns"][0]),
        "best_bid": int(rows["best_bid"][0]),
        "best_ask": int(rows["best_ask"][0]),
        "mid": float(rows["mid"][0]),
        "valid": bool(rows["valid"][0]),
        "rows": len(rows["k"]),
    }


class Pacer:
    """Releases bins at ``speed`` times their own pace; ``wait`` returns False once the
    stop event is set (then the stream ends). ``clock`` and ``sleep`` (seconds -> True if
    stopped meanwhile) are the wall's, replaceable in tests."""

    def __init__(
        self,
        speed: float | None,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.speed, self.stop, self.clock = speed, stop, clock
        self.sleep = sleep or stop.wait
        self._first: int | None = None
        self._started = 0.0

    def wait(self, bin_end_ns: int) -> bool:
        if self.stop.is_set():
            return False
        if self.speed is None:
            return True
        now = self.clock()
        if self._first is None:
            self._first, self._started = bin_end_ns, now
            return True
        due = self._started + (bin_end_ns - self._first) / 1e9 / self.speed
        return due <= now or not self.sleep(due - now)


def _paced_chunks(
    source: MboSource,
    files: list[Path],
    instrument: InstrumentConfig,
    request: StreamRequest,
    stop: threading.Event,
    cache: BookCache | None,
) -> Iterator[tuple[dict[str, np.ndarray], int]]:
    """(grid chunk, row where a bin starts) for each bin of the range, paced; ends early
    when ``stop`` is set."""
    instrument = request_instrument(instrument, request)
    cells = 2 * instrument.grid_half_width_ticks + 1
    pacer = Pacer(request.speed, stop)
    # small chunks: the first bins leave soon after the start, not after thousands
    for grid in grid_chunks(
        source, files, instrument, from_ns=request.from_ns, to_ns=request.to_ns, cache=cache,
        rows_per_chunk=cells * 64,
    ):  # fmt: skip
        for start in range(0, len(grid["k"]), cells):
            if not pacer.wait(int(grid["bin_end_ns"][start])):
                return
            yield grid, start


def paced_bins(
    source: MboSource,
    files: list[Path],
    instrument: InstrumentConfig,
    request: StreamRequest,
    stop: threading.Event,
    cache: BookCache | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """The replay of ``request``'s range, one bin's rows at a time, paced; ends early when
    ``stop`` is set."""
    cells = 2 * request_instrument(instrument, request).grid_half_width_ticks + 1
    for grid, start in _paced_chunks(source, files, instrument, request, stop, cache):
        yield {name: grid[name][start : start + cells] for name in SILVER_COLS}


def bin_summary(rows: dict[str, np.ndarray]) -> dict[str, Any]:
    """One bin in a line: its header fields and the window's summed quantities and forces."""
    return {
        **{k: v for k, v in _header(0, rows).items() if k not in ("type", "seq", "rows")},
        **{name: int(rows[name].sum()) for name in ("add_qty", "pull_qty", "fill_qty")},
        **{name: float(rows[name].sum()) for name in ("pressure", "vacuum")},
    }


LOOK_AHEAD_BINS = 512
_DONE = object()


def _computed_ahead(
    make: Callable[[threading.Event], Iterator[Any]], stop: threading.Event, size: int
) -> Iterator[Any]:
    """``make(halt)``'s items, computed on a thread of their own up to ``size`` ahead of
    the consumer: the consumer's pace is then not upset by the producer's bursts of work
    (a chunk of bins at a time). An error of the producer is raised here."""
    ahead: queue.Queue[Any] = queue.Queue(maxsize=size)
    halt = threading.Event()

    def offer(item: Any) -> bool:
        while not (halt.is_set() or stop.is_set()):
            try:
                ahead.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in make(halt):
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)

    thread = threading.Thread(target=produce, name="replay-ahead", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = ahead.get(timeout=0.05)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        halt.set()
        thread.join()


def bin_messages(
    source: MboSource,
    files: list[Path],
    instrument: InstrumentConfig,
    request: StreamRequest,
    stop: threading.Event,
    cache: BookCache | None = None,
) -> Iterator[BinMessage]:
    """The bins as wire messages (a header, the rows as Arrow IPC), computed ahead of
    their time on a thread of their own and released at ``request``'s pace."""
    cells = 2 * request_instrument(instrument, request).grid_half_width_ticks + 1
    unpaced = dataclasses.replace(request, speed=None)

    def messages(halt: threading.Event) -> Iterator[BinMessage]:
        batch, of = None, None
        chunks = _paced_chunks(source, files, instrument, unpaced, halt, cache)
        for seq, (grid, start) in enumerate(chunks, 1):
            if grid is not of:  # each chunk to Arrow once, each bin a zero-copy slice
                batch, of = grid_batch(grid), grid
            assert batch is not None
            rows = {name: grid[name][start : start + cells] for name in _HEADER_COLS}
            yield BinMessage(seq, _header(seq, rows), ipc_bytes(batch.slice(start, cells)))

    pacer = Pacer(request.speed, stop)
    for message in _computed_ahead(messages, stop, LOOK_AHEAD_BINS):
        if not pacer.wait(message.header["bin_end_ns"]):
            return
        yield message
