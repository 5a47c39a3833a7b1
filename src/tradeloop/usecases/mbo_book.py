"""Market-by-order files into the lake, and the order book at a moment.

Both work on an ``MboSource`` (the Databento adapter in the product, files in tests): the
source decodes, the book engine applies, the instrument file locks what may be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tradeloop.core.errors import DataError
from tradeloop.features.book.engine import OrderBook
from tradeloop.features.book.events import F_LAST
from tradeloop.features.book.instrument import InstrumentConfig, check_file, check_tick
from tradeloop.features.book.ports import MboFileInfo, MboSource
from tradeloop.store.mbo_lake import StoredFile, store_raw

# Databento datasets -> the lake's product type when no instrument file says it
PRODUCT_TYPES = {"GLBX.MDP3": "future", "XNAS.ITCH": "equity", "OPRA.PILLAR": "equity_option"}


def import_files(
    source: MboSource, lake: Path, paths: list[Path], instrument: InstrumentConfig | None
) -> list[StoredFile]:
    """Check each file whole (decodes, is MBO, is the instrument's, time runs forward),
    then copy it into the lake; nothing is copied from a file that fails."""
    stored = []
    for path in paths:
        info = source.info(path)
        if info.schema != "mbo":
            raise DataError(
                f"{path}: holds {info.schema} records, not MBO. Fix: import the mbo schema"
            )
        if instrument is not None:
            check_file(instrument, str(path), info.dataset, info.symbols)
            check_tick(instrument, str(path), source.definition_tick(path))
        records = _checked_records(source, path)
        product_type, root = _placement(info, instrument, path)
        stored.append(
            store_raw(
                lake,
                path,
                product_type,
                root,
                records=records,
                dataset=info.dataset,
                symbols=info.symbols,
                start_ns=info.start_ns,
                end_ns=info.end_ns,
            )
        )
    return stored


def _checked_records(source: MboSource, path: Path) -> int:
    records, last_recv = 0, 0
    for chunk in source.events(path):
        recv = chunk["ts_recv"]
        stepped = np.flatnonzero(np.diff(recv, prepend=last_recv) < 0)
        flagged = (chunk["flags"] & 0x08) != 0  # F_BAD_TS_RECV: the venue says so
        backwards = [i for i in stepped if not flagged[i]]
        if backwards:
            at = records + int(backwards[0])
            raise DataError(
                f"{path}: record {at:,} was received before the one preceding it (ts_recv "
                "goes backwards). Fix: the file is out of order; get it again from the source"
            )
        records += len(chunk)
        last_recv = int(recv[-1]) if len(recv) else last_recv
    return records


def _placement(
    info: MboFileInfo, instrument: InstrumentConfig | None, path: Path
) -> tuple[str, str]:
    if instrument is not None:
        return instrument.product_type, instrument.lake_root
    product_type = PRODUCT_TYPES.get(info.dataset)
    if product_type is None or len(info.symbols) != 1:
        raise DataError(
            f"{path}: dataset {info.dataset}, symbols {list(info.symbols)}: cannot tell where it "
            "goes in the lake. Fix: pass --instrument FILE"
        )
    symbol = info.symbols[0]
    root = symbol[:-2] if product_type == "future" and symbol[-1:].isdigit() else symbol
    return product_type, root


@dataclass(frozen=True, slots=True)
class BookAt:
    """The book at a moment: [side (0 bid, 1 ask), level, (price, size, count)] in fixed
    point, after the last complete event at or before ``at_ns``."""

    levels: np.ndarray
    at_ns: int
    last_event_ns: int | None
    events: int
    orders: int
    anomalies: dict[str, int]


def book_at(
    source: MboSource,
    files: list[Path],
    instrument: InstrumentConfig,
    at_ns: int,
    depth: int,
) -> BookAt:
    """Replay ``files`` (in order) up to ``at_ns`` (by ts_recv, the arrival order) and
    return the top ``depth`` levels of each side."""
    book = OrderBook(instrument.tick)
    applied, last_ns = 0, None
    for path in files:
        info = source.info(path)
        check_file(instrument, str(path), info.dataset, info.symbols)
        for chunk in source.events(path):
            upto = int(np.searchsorted(chunk["ts_recv"], at_ns, side="right"))
            head = chunk[:upto]
            complete = np.flatnonzero(head["flags"] & F_LAST)
            # stop after the last complete event: a half-applied event is no book
            cut = int(complete[-1]) + 1 if upto < len(chunk) and complete.size else upto
            if cut:
                book.apply(chunk[:cut], trail=False)
                applied += cut
                last_ns = int(chunk["ts_recv"][cut - 1])
            if cut < len(chunk):
                return BookAt(book.top(depth), at_ns, last_ns, applied, book.orders, book.anomalies)
    return BookAt(book.top(depth), at_ns, last_ns, applied, book.orders, book.anomalies)
