"""Databento DBN files (``.dbn`` and ``.dbn.zst``), read only through the ``databento``
library (which decodes with ``databento-dbn``): metadata, MBO events in chunks as
``MBO_DTYPE`` arrays, and tick sizes from definition files.

A file that is not DBN, not MBO, truncated or corrupt is a DataError naming the file, the
record where reading stopped and the fix; nothing of it is returned as if it were whole.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.core.errors import DataError
from tradeloop.features.book.events import MBO_DTYPE, UNDEFINED_PRICE
from tradeloop.features.book.ports import MboFileInfo

CHUNK = 1 << 14  # records per chunk: a small read decodes faster than a huge one
_COPIED = ("ts_event", "ts_recv", "order_id", "price", "size", "flags", "instrument_id", "sequence")


@dataclass(frozen=True, slots=True)
class DbnInfo:
    """What a DBN file says it holds."""

    path: Path
    dataset: str
    schema: str
    symbols: tuple[str, ...]
    start_ns: int
    end_ns: int | None
    version: int


@contextmanager
def _store(path: Path) -> Iterator[Any]:
    """The file as a ``DBNStore`` read from disk as it is consumed (never the whole file in
    memory), its file closed after."""
    import databento as db
    from databento.common.dbnstore import FileDataSource

    try:
        source = FileDataSource(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file. Fix: check the path") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot be read ({exc}). Fix: check the file") from None
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.filterwarnings("ignore", category=FutureWarning)
                store = db.DBNStore(source)
        except (ValueError, OSError, db.BentoError) as exc:
            raise DataError(
                f"{path}: not a DBN file ({str(exc).splitlines()[0][:120]}). Fix: give a .dbn "
                "or .dbn.zst file as Databento writes it"
            ) from None
        yield store
    finally:
        source.reader.close()


def dbn_info(path: Path) -> DbnInfo:
    """The file's metadata (dataset, schema, symbols, time range, DBN version)."""
    with _store(path) as store:
        metadata = store.metadata
        end = metadata.end
        return DbnInfo(
            path=path,
            dataset=str(metadata.dataset),
            schema=str(metadata.schema),
            symbols=tuple(str(s) for s in metadata.symbols),
            start_ns=int(metadata.start),
            end_ns=None if end is None or end >= UNDEFINED_PRICE else int(end),
            version=int(metadata.version),
        )


def read_mbo(path: Path, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """The file's MBO events in order, ``chunk`` at a time (``MBO_DTYPE``)."""
    import databento as db
    from databento.common.error import BentoWarning

    with _store(path) as store:
        schema = str(store.metadata.schema)
        if schema != "mbo":
            raise DataError(
                f"{path}: holds {schema} records, not MBO (market by order). Fix: give the "
                "dataset's mbo schema file; MBP and trades files cannot rebuild an order book"
            )
        done = 0
        with warnings.catch_warnings():
            warnings.simplefilter("error", BentoWarning)
            try:
                for records in store.to_ndarray(count=chunk):
                    yield _events(records)
                    done += len(records)
            except (BentoWarning, db.BentoError, ValueError) as exc:
                raise DataError(
                    f"{path}: unreadable in the records after {done:,} "
                    f"({str(exc).splitlines()[0][:100]}); "
                    "the file is truncated or corrupt. Fix: download it again; nothing was kept"
                ) from None


def _events(records: np.ndarray) -> np.ndarray:
    """The decoder's records as events: a view when the layout is the DBN MBO record's
    (always, for DBN 1 to 3), else a field-by-field copy."""
    fields: Mapping[str, Any] = records.dtype.fields or {}
    wanted: Mapping[str, Any] = MBO_DTYPE.fields or {}
    if records.dtype.itemsize == MBO_DTYPE.itemsize and all(
        name in fields and fields[name][1] == offset[1] for name, offset in wanted.items()
    ):
        return records.view(MBO_DTYPE)
    events = np.zeros(len(records), dtype=MBO_DTYPE)
    for name in _COPIED:
        events[name] = records[name]
    events["action"] = records["action"].view(np.uint8)
    events["side"] = records["side"].view(np.uint8)
    return events


def read_all_mbo(path: Path) -> np.ndarray:
    """Every MBO event of the file in one array (small files, tests)."""
    chunks = list(read_mbo(path))
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=MBO_DTYPE)


def definition_ticks(path: Path) -> dict[int, int]:
    """instrument_id -> minimum price increment (fixed point) from a definition file; an
    instrument whose increment is undefined is left out."""
    with _store(path) as store:
        if str(store.metadata.schema) != "definition":
            raise DataError(f"{path}: holds {store.metadata.schema} records, not definitions")
        records = store.to_ndarray()
    return {
        int(r["instrument_id"]): int(r["min_price_increment"])
        for r in records
        if 0 < int(r["min_price_increment"]) < UNDEFINED_PRICE
    }


class DatabentoSource:
    """``usecases.mbo_book.MboSource`` on DBN files."""

    def info(self, path: Path) -> MboFileInfo:
        found = dbn_info(path)
        return MboFileInfo(found.dataset, found.schema, found.symbols, found.start_ns, found.end_ns)

    def events(self, path: Path) -> Iterator[np.ndarray]:
        return read_mbo(path)

    def definition_tick(self, path: Path) -> int | None:
        """The minimum price increment of the file's instrument, from a definition file of
        the same dataset beside it (``<dataset>.definition.dbn.zst`` or
        ``*definition*.dbn*``); None when there is none or it leaves the tick undefined."""
        dataset = dbn_info(path).dataset
        first = next(iter(read_mbo(path, chunk=1)), None)
        for candidate in sorted(path.parent.glob("*definition*.dbn*")):
            if dbn_info(candidate).dataset != dataset:
                continue
            ticks = definition_ticks(candidate)
            if first is not None and len(first) and int(first["instrument_id"][0]) in ticks:
                return ticks[int(first["instrument_id"][0])]
        return None
