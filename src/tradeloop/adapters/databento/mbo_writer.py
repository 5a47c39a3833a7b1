"""Writing MBO events as real DBN files through ``databento-dbn``'s own records: its
``Metadata`` header, then one ``MBOMsg`` per event, zstd-compressed for ``.zst``; written
beside the target and renamed, so that a file in place is always whole."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.features.book.events import SIDE_ASK, SIDE_BID


def write_mbo(
    path: Path,
    chunks: Iterable[np.ndarray],
    *,
    dataset: str,
    symbol: str,
    start_ns: int,
    end_ns: int,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Write every event of ``chunks`` (``MBO_DTYPE``) to ``path``; how many."""
    import databento_dbn
    import zstandard

    # its enums subclass str in the stubs, which mypy then refuses where the enum is due
    dbn: Any = databento_dbn

    actions = {code: dbn.Action(chr(code)) for code in b"ACMRTFN"}
    sides = {SIDE_BID: dbn.Side.BID, SIDE_ASK: dbn.Side.ASK, ord("N"): dbn.Side.NONE}
    metadata = dbn.Metadata(
        dataset=dataset,
        schema=dbn.Schema.MBO,
        start=start_ns,
        stype_in=dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        end=end_ns,
        symbols=[symbol],
        partial=[],
        not_found=[],
        mappings=[],
    )
    partial = path.with_name(f".{path.name}.partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with partial.open("wb") as raw:
        sink: Any = raw
        if path.suffix == ".zst":
            sink = zstandard.ZstdCompressor(level=3).stream_writer(raw)
        sink.write(bytes(metadata))
        for chunk in chunks:
            sink.write(b"".join(_records(dbn, chunk, actions, sides)))
            written += len(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
        if sink is not raw:
            sink.flush(zstandard.FLUSH_FRAME)
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, path)
    return written


def _records(
    dbn: Any, chunk: np.ndarray, actions: dict[int, Any], sides: dict[int, Any]
) -> Iterator[bytes]:
    """One ``MBOMsg`` per event (columns as Python lists first: per-field NumPy scalars
    would cost ten times more)."""
    columns = (
        chunk["instrument_id"].tolist(),
        chunk["ts_event"].tolist(),
        chunk["order_id"].tolist(),
        chunk["price"].tolist(),
        chunk["size"].tolist(),
        chunk["action"].tolist(),
        chunk["side"].tolist(),
        chunk["ts_recv"].tolist(),
        chunk["flags"].tolist(),
        chunk["sequence"].tolist(),
    )
    message = dbn.MBOMsg
    for instrument, ts_event, order_id, price, size, action, side, ts_recv, flags, sequence in zip(
        *columns, strict=True
    ):
        yield bytes(
            message(
                1,
                instrument,
                ts_event,
                order_id,
                price,
                size,
                actions[action],
                sides[side],
                ts_recv,
                flags=flags,
                channel_id=0,
                ts_in_delta=ts_recv - ts_event,
                sequence=sequence,
            )
        )
