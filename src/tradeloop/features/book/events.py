"""Market-by-order events as the book engine takes them: one NumPy record per event, in
the order the venue sent them (Databento's MBO fields, the codes as bytes' values)."""

from __future__ import annotations

import numpy as np

# Fixed-point prices: integer units of 1e-9 (Databento's convention).
PRICE_SCALE = 1_000_000_000
UNDEFINED_PRICE = np.iinfo(np.int64).max

ACTION_ADD, ACTION_CANCEL, ACTION_MODIFY = ord("A"), ord("C"), ord("M")
ACTION_CLEAR, ACTION_TRADE, ACTION_FILL, ACTION_NONE = ord("R"), ord("T"), ord("F"), ord("N")
SIDE_ASK, SIDE_BID, SIDE_NONE = ord("A"), ord("B"), ord("N")

F_LAST = 0x80  # the last record of an event: the book is consistent after it
F_TOB = 0x40
F_SNAPSHOT = 0x20  # part of a replayed snapshot of the book
F_MBP = 0x10
F_BAD_TS_RECV = 0x08
F_MAYBE_BAD_BOOK = 0x04

# The DBN MBO record's own layout (56 bytes; the same in DBN versions 1 to 3), so that the
# records a decoder yields are viewed as events without a copy. Times are signed here (all
# real ones fit), codes are their bytes' values; the header and channel fields ride along.
MBO_DTYPE = np.dtype(
    [
        ("length", np.uint8),
        ("rtype", np.uint8),
        ("publisher_id", np.uint16),
        ("instrument_id", np.uint32),
        ("ts_event", np.int64),
        ("order_id", np.uint64),
        ("price", np.int64),
        ("size", np.uint32),
        ("flags", np.uint8),
        ("channel_id", np.uint8),
        ("action", np.uint8),
        ("side", np.uint8),
        ("ts_recv", np.int64),
        ("ts_in_delta", np.int32),
        ("sequence", np.uint32),
    ]
)
assert MBO_DTYPE.itemsize == 56


def mbo_events(
    *,
    ts_event: np.ndarray,
    order_id: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    action: bytes | np.ndarray,
    side: bytes | np.ndarray,
    flags: np.ndarray,
    ts_recv: np.ndarray | None = None,
    instrument_id: int = 1,
) -> np.ndarray:
    """Events from columns (tests and the synthetic generator); actions and sides as
    bytes (b"AACM") or arrays of their codes."""
    count = len(ts_event)
    events = np.zeros(count, dtype=MBO_DTYPE)
    events["ts_event"] = ts_event
    events["ts_recv"] = ts_event if ts_recv is None else ts_recv
    events["order_id"] = order_id
    events["price"] = price
    events["size"] = size
    events["action"] = np.frombuffer(action, np.uint8) if isinstance(action, bytes) else action
    events["side"] = np.frombuffer(side, np.uint8) if isinstance(side, bytes) else side
    events["flags"] = flags
    events["instrument_id"] = instrument_id
    events["sequence"] = np.arange(count, dtype=np.uint32)
    return events
