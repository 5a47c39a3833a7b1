"""The order-level book: every resting order (id -> side, price, size) and, per price
tick, the resting size and order count of each side; best bid and offer kept as events
arrive; the top of the book recorded after every event boundary (F_LAST).

The hot loop is one compiled (Numba) pass over an array of events (``events.MBO_DTYPE``):
no Python object per event. Orders live in an open-addressing hash table (linear probing,
backward-shift deletion) over flat arrays; price levels in a dense window of ticks around
the prices seen, which grows (re-centred) when a price falls outside it. When the table or
the window must grow, the kernel stops at that event and the Python side grows the arrays
and resumes there, so nothing is lost or applied twice.

Semantics (Databento MBO, as its reference book and NautilusTrader's L3 book apply them):
A adds an order; C removes the canceled size (the order goes at zero); M moves an order to
a new price and size (an unknown order is added, and counted); R clears the book; T, F and
N leave it unchanged. A cancel of an unknown order is counted and skipped; an add of an id
already resting replaces it (counted). Anomalies are counted in ``OrderBook.anomalies``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np

from tradeloop.core.errors import DataError
from tradeloop.features.book.events import F_BAD_TS_RECV, F_LAST, UNDEFINED_PRICE

BID, ASK = 0, 1
EMPTY = -1
# meta slots (scalars the kernel updates in place)
M_FREE_TOP, M_ORDERS, M_BASE, M_BEST_BID, M_BEST_ASK, M_LAST_RECV, M_WANT_TICK = range(7)
# anomaly counters
ANOMALIES = (
    "cancel_unknown_order",
    "modify_unknown_order",
    "add_existing_order",
    "price_off_tick",
    "cancel_more_than_resting",
    "order_without_side",
    "ts_recv_backwards",
)
DONE, NEED_WINDOW, NEED_TABLE = 0, 1, 2
MAX_WINDOW = 1 << 23  # ticks per side: beyond, the tick size is surely wrong
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@nb.njit(cache=True, nogil=True, inline="always")
def _home(key: np.uint64, mask: int) -> int:
    return int((key * _GOLDEN) >> np.uint64(32)) & mask


@nb.njit(cache=True, nogil=True)
def _find(keys: np.ndarray, vals: np.ndarray, key: np.uint64) -> int:
    mask = keys.size - 1
    i = _home(key, mask)
    while vals[i] != EMPTY:
        if keys[i] == key:
            return i
        i = (i + 1) & mask
    return -1


@nb.njit(cache=True, nogil=True)
def _insert(keys: np.ndarray, vals: np.ndarray, key: np.uint64, slot: int) -> None:
    mask = keys.size - 1
    i = _home(key, mask)
    while vals[i] != EMPTY:
        i = (i + 1) & mask
    keys[i] = key
    vals[i] = slot


@nb.njit(cache=True, nogil=True)
def _delete_at(keys: np.ndarray, vals: np.ndarray, i: int) -> None:
    mask = keys.size - 1
    vals[i] = EMPTY
    j = i
    while True:
        j = (j + 1) & mask
        if vals[j] == EMPTY:
            return
        k = _home(keys[j], mask)
        # keys[j] may stay where it is when its home lies cyclically in (i, j]
        if (i <= j and i < k <= j) or (i > j and (k > i or k <= j)):
            continue
        keys[i] = keys[j]
        vals[i] = vals[j]
        vals[j] = EMPTY
        i = j


@nb.njit(cache=True, nogil=True)
def _level_add(
    levels: np.ndarray, counts: np.ndarray, meta: np.ndarray, side: int, idx: int, size: int
) -> None:
    levels[side, idx] += size
    counts[side, idx] += 1
    if side == BID:
        if meta[M_BEST_BID] == EMPTY or idx > meta[M_BEST_BID]:
            meta[M_BEST_BID] = idx
    elif meta[M_BEST_ASK] == EMPTY or idx < meta[M_BEST_ASK]:
        meta[M_BEST_ASK] = idx


@nb.njit(cache=True, nogil=True)
def _level_remove(
    levels: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    side: int,
    idx: int,
    size: int,
    orders: int,
) -> None:
    levels[side, idx] -= size
    counts[side, idx] -= orders
    if counts[side, idx] > 0:
        return
    levels[side, idx] = 0
    width = counts.shape[1]
    if side == BID and idx == meta[M_BEST_BID]:
        best = EMPTY
        for j in range(idx - 1, -1, -1):
            if counts[BID, j] > 0:
                best = j
                break
        meta[M_BEST_BID] = best
    elif side == ASK and idx == meta[M_BEST_ASK]:
        best = EMPTY
        for j in range(idx + 1, width):
            if counts[ASK, j] > 0:
                best = j
                break
        meta[M_BEST_ASK] = best


@nb.njit(cache=True, nogil=True)
def _record(
    levels: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    tick: int,
    out: np.ndarray,
    depth: np.ndarray,
    row: int,
) -> None:
    base = meta[M_BASE]
    width = counts.shape[1]
    n = depth.shape[2]
    for side in range(2):
        start = meta[M_BEST_BID] if side == BID else meta[M_BEST_ASK]
        step = -1 if side == BID else 1
        idx = start
        level = 0
        while idx != EMPTY and 0 <= idx < width and level < max(n, 1):
            if counts[side, idx] > 0:
                px = (base + idx) * tick
                if level == 0:
                    out[row, 3 * side] = px
                    out[row, 3 * side + 1] = levels[side, idx]
                    out[row, 3 * side + 2] = counts[side, idx]
                if level < n:
                    depth[row, side, level, 0] = px
                    depth[row, side, level, 1] = levels[side, idx]
                    depth[row, side, level, 2] = counts[side, idx]
                level += 1
            idx += step
        for rest in range(level, n):  # levels the book does not have: empty
            depth[row, side, rest, 0] = UNDEFINED_PRICE
            depth[row, side, rest, 1] = 0
            depth[row, side, rest, 2] = 0


@nb.njit(cache=True, nogil=True)
def _rest(
    event: Any,
    found: int,
    side: int,
    keys: np.ndarray,
    vals: np.ndarray,
    o_side: np.ndarray,
    o_idx: np.ndarray,
    o_size: np.ndarray,
    free: np.ndarray,
    levels: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    anomalies: np.ndarray,
    tick: int,
) -> int:
    """An add or a modify: the order rests at (price, size) afterwards, or is gone at size
    0; NEED_WINDOW / NEED_TABLE, before anything changes, when the arrays must grow."""
    key = event.order_id
    price = event.price
    tick_abs = price // tick
    idx = tick_abs - meta[M_BASE]
    if idx < 0 or idx >= counts.shape[1]:
        meta[M_WANT_TICK] = tick_abs
        return NEED_WINDOW
    if found < 0 and (meta[M_FREE_TOP] == 0 or 2 * (meta[M_ORDERS] + 1) > keys.size):
        return NEED_TABLE
    if price - tick_abs * tick != 0:
        anomalies[3] += 1
    if found >= 0:
        slot = vals[found]
        if event.action == 65:
            anomalies[2] += 1
        _level_remove(levels, counts, meta, o_side[slot], o_idx[slot], o_size[slot], 1)
    else:
        if event.action == 77:
            anomalies[1] += 1
        meta[M_FREE_TOP] -= 1
        slot = free[meta[M_FREE_TOP]]
        _insert(keys, vals, key, slot)
        meta[M_ORDERS] += 1
    if event.size <= 0:  # a modify to nothing: the order is gone
        _delete_at(keys, vals, _find(keys, vals, key))
        free[meta[M_FREE_TOP]] = slot
        meta[M_FREE_TOP] += 1
        meta[M_ORDERS] -= 1
        return DONE
    o_side[slot] = side
    o_idx[slot] = idx
    o_size[slot] = event.size
    _level_add(levels, counts, meta, side, idx, event.size)
    return DONE


@nb.njit(cache=True, nogil=True)
def _cancel(
    event: Any,
    found: int,
    keys: np.ndarray,
    vals: np.ndarray,
    o_side: np.ndarray,
    o_idx: np.ndarray,
    o_size: np.ndarray,
    free: np.ndarray,
    levels: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    anomalies: np.ndarray,
) -> None:
    if found < 0:
        anomalies[0] += 1
        return
    slot = vals[found]
    size = event.size
    if size > o_size[slot]:
        anomalies[4] += 1
    if size >= o_size[slot]:
        _level_remove(levels, counts, meta, o_side[slot], o_idx[slot], o_size[slot], 1)
        _delete_at(keys, vals, found)
        free[meta[M_FREE_TOP]] = slot
        meta[M_FREE_TOP] += 1
        meta[M_ORDERS] -= 1
    else:
        o_size[slot] -= size
        _level_remove(levels, counts, meta, o_side[slot], o_idx[slot], size, 0)


@nb.njit(cache=True, nogil=True)
def _clear(
    vals: np.ndarray, free: np.ndarray, levels: np.ndarray, counts: np.ndarray, meta: np.ndarray
) -> None:
    vals[:] = EMPTY
    levels[:, :] = 0
    counts[:, :] = 0
    for s in range(free.size):
        free[s] = free.size - 1 - s
    meta[M_FREE_TOP] = free.size
    meta[M_ORDERS] = 0
    meta[M_BEST_BID] = EMPTY
    meta[M_BEST_ASK] = EMPTY


@nb.njit(cache=True, nogil=True)
def _boundary(
    event: Any,
    levels: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    tick: int,
    out_ts: np.ndarray,
    out: np.ndarray,
    depth: np.ndarray,
    row: int,
) -> None:
    out_ts[row, 0] = event.ts_event
    out_ts[row, 1] = event.ts_recv
    for c in range(6):
        out[row, c] = 0
    out[row, 0] = UNDEFINED_PRICE
    out[row, 3] = UNDEFINED_PRICE
    _record(levels, counts, meta, tick, out, depth, row)


@nb.njit(cache=True, nogil=True)
def _apply(
    events: np.ndarray,
    begin: int,
    keys: np.ndarray,
    vals: np.ndarray,
    o_side: np.ndarray,
    o_idx: np.ndarray,
    o_size: np.ndarray,
    free: np.ndarray,
    levels: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    anomalies: np.ndarray,
    tick: int,
    out_ts: np.ndarray,
    out: np.ndarray,
    depth: np.ndarray,
    row0: int,
    record: bool,
) -> tuple[int, int, int]:
    """Apply ``events[begin:]``; returns (status, the next event to apply, rows written);
    the top of the book is recorded after each boundary only when ``record``."""
    row = row0
    for i in range(begin, events.size):
        event = events[i]
        action = event.action
        recv = event.ts_recv
        if recv < meta[M_LAST_RECV] and (event.flags & F_BAD_TS_RECV) == 0:
            anomalies[6] += 1
        if recv > meta[M_LAST_RECV]:
            meta[M_LAST_RECV] = recv
        if action == 82:  # R: clear the book
            _clear(vals, free, levels, counts, meta)
        elif action == 67:  # C
            found = _find(keys, vals, event.order_id)
            _cancel(
                event,
                found,
                keys,
                vals,
                o_side,
                o_idx,
                o_size,
                free,
                levels,
                counts,
                meta,
                anomalies,
            )
        elif action == 65 or action == 77:  # A, M
            found = _find(keys, vals, event.order_id)
            side = BID if event.side == 66 else (ASK if event.side == 65 else -1)
            if found >= 0:
                side = o_side[vals[found]]
            if side < 0 or event.price == UNDEFINED_PRICE:
                anomalies[5] += 1
            else:
                status = _rest(
                    event,
                    found,
                    side,
                    keys,
                    vals,
                    o_side,
                    o_idx,
                    o_size,
                    free,
                    levels,
                    counts,
                    meta,
                    anomalies,
                    tick,
                )
                if status != DONE:
                    return status, i, row - row0
        if record and event.flags & F_LAST:
            _boundary(event, levels, counts, meta, tick, out_ts, out, depth, row)
            row += 1
    return DONE, events.size, row - row0


@nb.njit(cache=True, nogil=True)
def _rehash(keys: np.ndarray, vals: np.ndarray, new_keys: np.ndarray, new_vals: np.ndarray) -> None:
    for i in range(keys.size):
        if vals[i] != EMPTY:
            _insert(new_keys, new_vals, keys[i], vals[i])


@dataclass(frozen=True, slots=True)
class BookTrail:
    """The top of the book after each event boundary: ``ts`` (ts_event, ts_recv) and
    ``bbo`` (bid price, size, count, ask price, size, count; an empty side has price
    ``UNDEFINED_PRICE``); ``depth`` [row, side (0 bid, 1 ask), level, (price, size,
    count)] when levels were asked for."""

    ts: np.ndarray
    bbo: np.ndarray
    depth: np.ndarray


class OrderBook:
    """One instrument's book. ``tick`` is the price increment in fixed-point units."""

    def __init__(self, tick: int, *, capacity: int = 1 << 16, window: int = 1 << 16) -> None:
        if tick <= 0:
            raise DataError(f"order book: tick size {tick} must be a positive fixed-point price")
        self.tick = int(tick)
        self._keys = np.zeros(capacity, dtype=np.uint64)
        self._vals = np.full(capacity, EMPTY, dtype=np.int64)
        slots = capacity // 2
        self._side = np.zeros(slots, dtype=np.int64)
        self._idx = np.zeros(slots, dtype=np.int64)
        self._size = np.zeros(slots, dtype=np.int64)
        self._free = np.arange(slots - 1, -1, -1, dtype=np.int64)
        self._levels = np.zeros((2, window), dtype=np.int64)
        self._counts = np.zeros((2, window), dtype=np.int64)
        self._meta = np.array([slots, 0, 0, EMPTY, EMPTY, 0, 0], dtype=np.int64)
        self._anchored = False
        self.anomaly_counts = np.zeros(len(ANOMALIES), dtype=np.int64)
        # Arrays others keep beside the book (the grid's): per order slot, grown with the
        # table; per tick (last axis), moved with the window.
        self.slot_extras: dict[str, np.ndarray] = {}
        self.tick_extras: dict[str, np.ndarray] = {}

    @property
    def anomalies(self) -> dict[str, int]:
        return {name: int(n) for name, n in zip(ANOMALIES, self.anomaly_counts, strict=True)}

    @property
    def orders(self) -> int:
        return int(self._meta[M_ORDERS])

    def apply(self, events: np.ndarray, depth: int = 0, *, trail: bool = True) -> BookTrail:
        """Apply ``events`` in order; the top of the book after each F_LAST event, with
        ``depth`` levels per side when asked (nothing recorded without ``trail``: a replay
        to a moment needs only the book at its end)."""
        boundaries = int(np.count_nonzero(events["flags"] & F_LAST)) if trail else 0
        ts = np.zeros((boundaries, 2), dtype=np.int64)
        bbo = np.zeros((boundaries, 6), dtype=np.int64)
        levels = np.zeros((boundaries, 2, depth, 3), dtype=np.int64)
        if not self._anchored and events.size:
            self._anchor(events)
        begin, row = 0, 0
        while True:
            status, begin, written = _apply(
                events,
                begin,
                self._keys,
                self._vals,
                self._side,
                self._idx,
                self._size,
                self._free,
                self._levels,
                self._counts,
                self._meta,
                self.anomaly_counts,
                self.tick,
                ts,
                bbo,
                levels,
                row,
                trail,
            )
            row += written
            if status == DONE:
                return BookTrail(ts, bbo, levels)
            if status == NEED_WINDOW:
                self._widen(int(self._meta[M_WANT_TICK]))
            else:
                self._grow_table()

    def top(self, depth: int = 10) -> np.ndarray:
        """The book now: [side, level, (price, size, count)], empty levels UNDEFINED_PRICE."""
        out = np.zeros((1, 6), dtype=np.int64)
        levels = np.zeros((1, 2, depth, 3), dtype=np.int64)
        levels[:, :, :, 0] = UNDEFINED_PRICE
        _record(self._levels, self._counts, self._meta, self.tick, out, levels, 0)
        return np.asarray(levels[0])

    def _anchor(self, events: np.ndarray) -> None:
        priced = events["price"][events["price"] != UNDEFINED_PRICE]
        if priced.size:
            centre = int(np.median(priced[:10_000]) // self.tick)
            self._meta[M_BASE] = centre - self._levels.shape[1] // 2
        self._anchored = True

    def _widen(self, wanted_tick: int) -> None:
        """Re-centre the level window so that it holds every resting level and ``wanted_tick``."""
        base = int(self._meta[M_BASE])
        used = np.flatnonzero((self._counts[0] > 0) | (self._counts[1] > 0))
        low = min([wanted_tick, *(base + used[:1])])
        high = max([wanted_tick, *(base + used[-1:])])
        self._place(low, high, (low + high) // 2)

    def reanchor_to_bbo(self, half_width: int) -> None:
        """Centre the level window on the mid, holding ``half_width`` ticks either side of
        it and every resting level. Run after every import of a saved book: a book saved
        overnight sits where the overnight prices were, and the grid reads the ticks
        around the mid from the first bin on."""
        bid, ask = int(self._meta[M_BEST_BID]), int(self._meta[M_BEST_ASK])
        if bid == EMPTY or ask == EMPTY:
            return  # no mid to centre on: the next event anchors what it needs
        base = int(self._meta[M_BASE])
        mid = base + (bid + ask) // 2
        used = np.flatnonzero((self._counts[0] > 0) | (self._counts[1] > 0))
        low = min(mid - half_width, base + int(used[0]))
        high = max(mid + half_width, base + int(used[-1]))
        self._place(low, high, mid)

    def _place(self, low: int, high: int, centre: int) -> None:
        """Move the window to be centred on tick ``centre`` holding ticks [low, high],
        twice as wide as it must be at least (so that a drift does not move it again)."""
        width = self._levels.shape[1]
        span = 2 * max(centre - low, high - centre) + 1
        while width < 2 * span:
            width *= 2
        if width > MAX_WINDOW:
            raise DataError(
                f"order book: prices span {high - low + 1:,} ticks of {self.tick / 1e9:g} (more "
                f"than {MAX_WINDOW:,}); the tick size is likely wrong for this instrument. Fix: "
                "set tick_size in the instrument file"
            )
        base = int(self._meta[M_BASE])
        new_base = centre - width // 2
        shift = base - new_base
        used = np.flatnonzero((self._counts[0] > 0) | (self._counts[1] > 0))
        levels = np.zeros((2, width), dtype=np.int64)
        counts = np.zeros((2, width), dtype=np.int64)
        if used.size:  # the resting levels, moved to their place in the new window
            first, last = int(used[0]), int(used[-1]) + 1
            levels[:, first + shift : last + shift] = self._levels[:, first:last]
            counts[:, first + shift : last + shift] = self._counts[:, first:last]
        self._levels, self._counts = levels, counts
        self._meta[M_BASE] = new_base
        for best in (M_BEST_BID, M_BEST_ASK):
            if self._meta[best] != EMPTY:
                self._meta[best] += shift
        live = self._vals[self._vals != EMPTY]
        self._idx[live] += shift
        for name, array in self.tick_extras.items():
            moved = np.zeros((*array.shape[:-1], width), dtype=array.dtype)
            lo, hi = max(0, -shift), min(array.shape[-1], width - shift)
            if hi > lo:
                moved[..., lo + shift : hi + shift] = array[..., lo:hi]
            self.tick_extras[name] = moved

    def state(self) -> dict[str, np.ndarray]:
        """The book as plain arrays (what a cache file holds): the order table and, of the
        level window, only the ticks with resting orders, by absolute tick."""
        used = np.flatnonzero((self._counts[0] > 0) | (self._counts[1] > 0))
        first = int(used[0]) if used.size else 0
        last = int(used[-1]) + 1 if used.size else 0
        return {
            "tick": np.array([self.tick], dtype=np.int64),
            "keys": self._keys,
            "vals": self._vals,
            "side": self._side,
            "idx": self._idx,
            "size": self._size,
            "free": self._free,
            "meta": self._meta,
            "anomalies": self.anomaly_counts,
            "levels": self._levels[:, first:last],
            "counts": self._counts[:, first:last],
            "first_tick": np.array([int(self._meta[M_BASE]) + first], dtype=np.int64),
            "width": np.array([self._levels.shape[1]], dtype=np.int64),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> OrderBook:
        """A book from ``state()``'s arrays. Its window starts at the lowest resting tick,
        wherever the mid is: call ``reanchor_to_bbo`` before gridding."""
        book = cls(int(state["tick"][0]), capacity=state["keys"].size, window=1)
        for name in ("keys", "vals", "side", "idx", "size", "free"):
            setattr(book, f"_{name}", np.array(state[name]))
        book._meta = np.array(state["meta"])
        book.anomaly_counts = np.array(state["anomalies"])
        width = int(state["width"][0])
        stored = state["levels"].shape[1]
        if stored > width:
            raise DataError(f"saved book: {stored} ticks of levels in a window of {width}")
        book._levels = np.zeros((2, width), dtype=np.int64)
        book._counts = np.zeros((2, width), dtype=np.int64)
        book._levels[:, :stored] = state["levels"]
        book._counts[:, :stored] = state["counts"]
        shift = int(book._meta[M_BASE]) - int(state["first_tick"][0])
        book._meta[M_BASE] = int(state["first_tick"][0])
        for best in (M_BEST_BID, M_BEST_ASK):
            if book._meta[best] != EMPTY:
                book._meta[best] += shift
        live = book._vals[book._vals != EMPTY]
        book._idx[live] += shift
        book._anchored = True
        return book

    def _grow_table(self) -> None:
        capacity = self._keys.size * 2
        keys = np.zeros(capacity, dtype=np.uint64)
        vals = np.full(capacity, EMPTY, dtype=np.int64)
        _rehash(self._keys, self._vals, keys, vals)
        self._keys, self._vals = keys, vals
        old = self._side.size
        slots = capacity // 2
        for name in ("_side", "_idx", "_size"):
            grown = np.zeros(slots, dtype=np.int64)
            grown[:old] = getattr(self, name)
            setattr(self, name, grown)
        top = int(self._meta[M_FREE_TOP])
        free = np.zeros(slots, dtype=np.int64)
        free[:top] = self._free[:top]
        added = np.arange(slots - 1, old - 1, -1, dtype=np.int64)
        free[top : top + added.size] = added
        self._free = free
        self._meta[M_FREE_TOP] = top + added.size
        for name, array in self.slot_extras.items():
            grown = np.zeros(slots, dtype=array.dtype)
            grown[:old] = array
            self.slot_extras[name] = grown
