"""A synthetic trading day of market-by-order events, written as a real DBN file: the
instrument's session and tick, a seed, and how many records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.features.book.ports import MboWriter
from tradeloop.features.book.synthetic import SimState, simulate_chunks

RECORDS_PER_EVENT = 1.4  # a trade brings its fills and cancels: about this many per event


@dataclass(frozen=True, slots=True)
class SynthDay:
    path: Path
    records: int
    start_ns: int
    end_ns: int


def session_bounds(instrument: InstrumentConfig, day: date) -> tuple[int, int]:
    """The instrument's regular session on ``day`` as UTC nanoseconds."""
    zone = ZoneInfo(instrument.session.timezone)
    hour, minute = (int(p) for p in instrument.session.start.split(":"))
    end_hour, end_minute = (int(p) for p in instrument.session.end.split(":"))
    start = datetime.combine(day, time(hour, minute), zone)
    end = datetime.combine(day, time(end_hour, end_minute), zone)
    return int(start.timestamp()) * 1_000_000_000, int(end.timestamp()) * 1_000_000_000


def synthesize(
    write: MboWriter,
    out: Path,
    instrument: InstrumentConfig,
    *,
    records: int,
    seed: int,
    day: date,
    price: float,
    on_chunk: Callable[[int], None] | None = None,
) -> SynthDay:
    """Simulate ``records`` (at least) MBO records of ``day``'s session and write them."""
    start_ns, end_ns = session_bounds(instrument, day)
    session_s = (end_ns - start_ns) / 1e9
    centre = round(price / instrument.tick_size)
    state = SimState(
        seed=seed,
        start_ns=start_ns,
        session_ns=end_ns - start_ns,
        events_per_s=records / session_s / RECORDS_PER_EVENT,
        centre_tick=centre,
    )
    written = write(
        out,
        simulate_chunks(state, records, instrument.tick),
        dataset=instrument.dataset,
        symbol=instrument.symbol,
        start_ns=start_ns,
        end_ns=end_ns,
        on_chunk=on_chunk,
    )
    return SynthDay(out, written, start_ns, end_ns)
