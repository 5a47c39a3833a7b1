"""The grid on the wire: Arrow record batches with exactly ``SILVER_COLS``, and their IPC
stream bytes (what the WebSocket stream sends per bin, and what a replay writes)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tradeloop.core.errors import DataError
from tradeloop.features.book.grid import SILVER_COLS

_TYPES = {
    "bin_end_ns": pa.int64(),
    "k": pa.int32(),
    "price": pa.int64(),
    "side": pa.int8(),
    "depth_qty_end": pa.int64(),
    "depth_qty_rest": pa.int64(),
    "add_qty": pa.int64(),
    "pull_qty": pa.int64(),
    "fill_qty": pa.int64(),
    "pressure": pa.float64(),
    "vacuum": pa.float64(),
    "net": pa.float64(),
    "v": pa.float64(),
    "a": pa.float64(),
    "j": pa.float64(),
    "best_bid": pa.int64(),
    "best_ask": pa.int64(),
    "mid": pa.float64(),
    "bbo_label": pa.int8(),
    "valid": pa.bool_(),
}
GRID_SCHEMA = pa.schema([pa.field(name, _TYPES[name]) for name in SILVER_COLS])


def grid_batch(columns: dict[str, np.ndarray]) -> pa.RecordBatch:
    """A grid chunk as an Arrow batch; DataError when its columns are not the wire's."""
    if tuple(columns) != SILVER_COLS:
        raise DataError(f"grid columns {list(columns)} are not the wire schema {list(SILVER_COLS)}")
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[name], type=_TYPES[name]) for name in SILVER_COLS], schema=GRID_SCHEMA
    )


# An IPC stream is the schema message, the record batch messages and an end-of-stream
# marker (the Arrow columnar format's "IPC Streaming Format"); the schema's is the same for
# every bin, so it is encoded once.
_SCHEMA_MESSAGE: bytes = GRID_SCHEMA.serialize().to_pybytes()
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def ipc_bytes(batch: pa.RecordBatch) -> bytes:
    """One batch (or a slice of one) as an Arrow IPC stream, as the stream sends it."""
    if batch.schema != GRID_SCHEMA:
        raise DataError(f"grid batch schema {batch.schema.names} is not the wire's")
    message: bytes = batch.serialize().to_pybytes()
    return _SCHEMA_MESSAGE + message + _END_OF_STREAM
