# mypy: disable-error-code="no-untyped-def"
# (the compiled kernels take the book's state arrays; Numba types them, not annotations)
"""Dense grids (silver): every ``cell_width_ms``, a fixed window of ticks around the mid
with, per tick, what rests there and what moved during the bin, and the two forces.

Per bin and tick (prices ``ref + k``, ``k`` in [-H, H], ``ref`` the mid's tick):

- ``depth_qty_end``: resting size at the bin's end (both sides; ``side`` says which);
- ``add_qty`` (new orders, modifies up or onto the tick), ``pull_qty`` (cancels, modifies
  down or away, not counting what a fill already took) and ``fill_qty`` (F records);
- ``depth_qty_rest``: what rested through the bin, ``end - add`` clamped to [0, end] (the
  seed's rule: rest = start - pull - fill can exceed end only through adds);
- the two forces, per unit of the depth at the bin's start (``end - add + pull + fill``):
  ``pressure = add / (start + 1)`` (liquidity arriving) and ``vacuum = (pull + fill) /
  (start + 1)`` (liquidity leaving); ``net = pressure - vacuum``;
- the derivative chain of ``net`` per price tick, each an EMA of the previous one's change
  (the instrument's ``ema`` weights): ``v``, ``a``, ``j``.

Per bin: ``best_bid`` / ``best_ask``, ``mid`` (0 when a side is empty, as at the 09:30
snap/clear; such bins have ``valid`` false and are skipped by evaluation) and
``bbo_label``, the permutation of the best bid's and best ask's moves since the last bin
(``3 * (bid_move + 1) + (ask_move + 1)``, 4 = both unchanged).

``SILVER_COLS`` is the wire schema: the columns a grid chunk has, in order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numba as nb
import numpy as np

from tradeloop.features.book.derivatives import chain_step
from tradeloop.features.book.engine import (
    DONE,
    EMPTY,
    M_BASE,
    M_BEST_ASK,
    M_BEST_BID,
    M_WANT_TICK,
    NEED_TABLE,
    NEED_WINDOW,
    OrderBook,
    _cancel,
    _clear,
    _find,
    _rest,
)
from tradeloop.features.book.events import F_LAST, PRICE_SCALE, UNDEFINED_PRICE
from tradeloop.features.book.instrument import InstrumentConfig

NEED_FLUSH = 3
SILVER_COLS: tuple[str, ...] = (
    "bin_end_ns",
    "k",
    "price",
    "side",
    "depth_qty_end",
    "depth_qty_rest",
    "add_qty",
    "pull_qty",
    "fill_qty",
    "pressure",
    "vacuum",
    "net",
    "v",
    "a",
    "j",
    "best_bid",
    "best_ask",
    "mid",
    "bbo_label",
    "valid",
)
_INT = (
    "bin_end_ns",
    "price",
    "depth_qty_end",
    "depth_qty_rest",
    "add_qty",
    "pull_qty",
    "fill_qty",
    "best_bid",
    "best_ask",
)
# the kernel's output layout: column index -> name (index 11 unused)
_INT_COLUMNS = (
    "bin_end_ns", "k", "price", "side", "depth_qty_end", "depth_qty_rest", "add_qty",
    "pull_qty", "fill_qty", "best_bid", "best_ask", None, "bbo_label", "valid",
)  # fmt: skip
_FLOAT_COLUMNS = ("pressure", "vacuum", "net", "v", "a", "j", "mid")
# bin state: 0 bin end (ns), 1 width (ns), 2 previous best bid tick, 3 previous best ask
# tick, 4 previous record closed an event, 5 touched count
B_END, B_WIDTH, B_BID, B_ASK, B_CLOSED, B_TOUCHED = range(6)


@nb.njit(cache=True, nogil=True)
def _touch(touched, bins, side, idx):
    """Remember a tick the bin changed (reset when it closes); past the list's room, the
    whole mass array is reset instead (the count then says so)."""
    n = bins[B_TOUCHED]
    if n < touched.shape[0]:
        touched[n, 0] = side
        touched[n, 1] = idx
        bins[B_TOUCHED] = n + 1
    else:
        bins[B_TOUCHED] = touched.shape[0] + 1


@nb.njit(cache=True, nogil=True)
def _moved(mass, touched, bins, side, idx, change):
    """A change of resting size at (side, idx) that no fill explains: added or pulled."""
    if change == 0:
        return
    if change > 0:
        mass[0, side, idx] += change
    else:
        mass[1, side, idx] -= change
    _touch(touched, bins, side, idx)


@nb.njit(cache=True, nogil=True)
def _grid_outside(meta, width, half):
    """Whether the grid's ticks around the mid reach past the level window; if so the
    tick to widen to is left in the meta (a bin never reads ticks the book cannot hold)."""
    bid, ask = meta[M_BEST_BID], meta[M_BEST_ASK]
    if bid == EMPTY or ask == EMPTY:
        return False
    ref = (bid + ask) // 2
    if ref - half < 0:
        meta[M_WANT_TICK] = meta[M_BASE] + ref - half
        return True
    if ref + half >= width:
        meta[M_WANT_TICK] = meta[M_BASE] + ref + half
        return True
    return False


@nb.njit(cache=True, nogil=True)
def _emit_bin(levels, counts, meta, mass, chain, alphas, tick, half, bins, out_i, out_f, row):
    base = meta[M_BASE]
    width = counts.shape[1]
    bid, ask = meta[M_BEST_BID], meta[M_BEST_ASK]
    valid = bid != EMPTY and ask != EMPTY
    bid_move, ask_move = 0, 0
    if valid and bins[B_BID] != EMPTY:
        bid_move = 1 if bid > bins[B_BID] else (-1 if bid < bins[B_BID] else 0)
        ask_move = 1 if ask > bins[B_ASK] else (-1 if ask < bins[B_ASK] else 0)
    label = 3 * (bid_move + 1) + (ask_move + 1)
    ref = (bid + ask) // 2 if valid else 0
    for offset in range(-half, half + 1):
        r = row + offset + half
        idx = ref + offset
        out_i[r, 0] = bins[B_END]
        out_i[r, 1] = offset
        out_i[r, 12] = label
        out_i[r, 13] = 1 if valid else 0
        out_i[r, 9] = (base + bid) * tick if valid else 0
        out_i[r, 10] = (base + ask) * tick if valid else 0
        out_f[r, 6] = ((base + bid) + (base + ask)) * tick / 2.0 / PRICE_SCALE if valid else 0.0
        if not valid or idx < 0 or idx >= width:
            for c in (2, 3, 4, 5, 6, 7, 8):
                out_i[r, c] = 0
            for c in range(6):
                out_f[r, c] = 0.0
            continue
        end = levels[0, idx] + levels[1, idx]
        add = mass[0, 0, idx] + mass[0, 1, idx]
        pull = mass[1, 0, idx] + mass[1, 1, idx]
        fill = mass[2, 0, idx] + mass[2, 1, idx]
        start = end - add + pull + fill
        rest = min(max(end - add, 0), end)
        out_i[r, 2] = (base + idx) * tick
        out_i[r, 3] = 1 if counts[0, idx] > 0 else (-1 if counts[1, idx] > 0 else 0)
        out_i[r, 4] = end
        out_i[r, 5] = rest
        out_i[r, 6] = add
        out_i[r, 7] = pull
        out_i[r, 8] = fill
        pressure = add / (start + 1.0)
        vacuum = (pull + fill) / (start + 1.0)
        net = pressure - vacuum
        chain_step(chain, idx, net, alphas)
        out_f[r, 0], out_f[r, 1], out_f[r, 2] = pressure, vacuum, net
        out_f[r, 3], out_f[r, 4], out_f[r, 5] = chain[1, idx], chain[2, idx], chain[3, idx]
    if valid:
        bins[B_BID], bins[B_ASK] = bid, ask
    return row + 2 * half + 1


@nb.njit(cache=True, nogil=True)
def _clear_touched(mass, touched, bins):
    if bins[B_TOUCHED] > touched.shape[0]:
        mass[:, :, :] = 0
        bins[B_TOUCHED] = 0
        return
    for t in range(bins[B_TOUCHED]):
        side, idx = touched[t, 0], touched[t, 1]
        mass[0, side, idx] = 0
        mass[1, side, idx] = 0
        mass[2, side, idx] = 0
    bins[B_TOUCHED] = 0


@nb.njit(cache=True, nogil=True)
def _grid_apply(
    events, begin, keys, vals, o_side, o_idx, o_size, free, levels, counts, meta, anomalies,
    tick, pending, mass, chain, alphas, half, touched, bins, out_i, out_f, row0,
):  # fmt: skip
    """Apply events from ``begin``, closing every bin the time passes; (status, next
    event, rows written)."""
    row = row0
    for i in range(begin, events.size):
        event = events[i]
        recv = event.ts_recv
        if bins[B_END] == 0:
            bins[B_END] = (recv // bins[B_WIDTH] + 1) * bins[B_WIDTH]
        while bins[B_CLOSED] == 1 and recv >= bins[B_END]:
            if row + 2 * half + 1 > out_i.shape[0]:
                return NEED_FLUSH, i, row - row0
            if _grid_outside(meta, counts.shape[1], half):
                return NEED_WINDOW, i, row - row0
            row = _emit_bin(
                levels, counts, meta, mass, chain, alphas, tick, half, bins, out_i, out_f, row
            )
            _clear_touched(mass, touched, bins)
            bins[B_END] += bins[B_WIDTH]
        action = event.action
        if action == 82:
            _clear(vals, free, levels, counts, meta)
            pending[:] = 0
        elif action == 70:  # F: a passive fill, before its C or M
            found = _find(keys, vals, event.order_id)
            if found >= 0:
                slot = vals[found]
                take = min(event.size, o_size[slot] - pending[slot])
                if take > 0:
                    pending[slot] += take
                    mass[2, o_side[slot], o_idx[slot]] += take
                    _touch(touched, bins, o_side[slot], o_idx[slot])
        elif action == 67:
            found = _find(keys, vals, event.order_id)
            if found >= 0:
                slot = vals[found]
                side, idx = o_side[slot], o_idx[slot]
                # what a fill took is counted already: the rest of the change is a pull
                was = o_size[slot] - pending[slot]
                pending[slot] = 0
                _cancel(
                    event, found, keys, vals, o_side, o_idx, o_size, free, levels, counts, meta,
                    anomalies,
                )  # fmt: skip
                left = o_size[slot] if _find(keys, vals, event.order_id) >= 0 else 0
                _moved(mass, touched, bins, side, idx, left - was)
            else:
                anomalies[0] += 1
        elif action == 65 or action == 77:
            found = _find(keys, vals, event.order_id)
            side = 0 if event.side == 66 else (1 if event.side == 65 else -1)
            if found >= 0:
                side = o_side[vals[found]]
            if side < 0 or event.price == UNDEFINED_PRICE:
                anomalies[5] += 1
            else:
                old_slot, old_idx, was = -1, 0, 0
                if found >= 0:
                    old_slot = vals[found]
                    old_idx = o_idx[old_slot]
                    was = o_size[old_slot] - pending[old_slot]  # fills are counted already
                status = _rest(
                    event, found, side, keys, vals, o_side, o_idx, o_size, free, levels, counts,
                    meta, anomalies, tick,
                )  # fmt: skip
                if status != DONE:
                    return status, i, row - row0
                if old_slot >= 0:
                    pending[old_slot] = 0
                after = _find(keys, vals, event.order_id)
                new_idx = o_idx[vals[after]] if after >= 0 else old_idx
                new_size = o_size[vals[after]] if after >= 0 else 0
                if after >= 0:
                    pending[vals[after]] = 0
                if old_slot >= 0 and new_idx != old_idx:
                    _moved(mass, touched, bins, side, old_idx, -was)
                    _moved(mass, touched, bins, side, new_idx, new_size)
                else:
                    _moved(mass, touched, bins, side, new_idx, new_size - was)
        bins[B_CLOSED] = 1 if event.flags & F_LAST else 0
    return DONE, events.size, row - row0


@nb.njit(cache=True, nogil=True)
def _grid_close(
    levels, counts, meta, mass, chain, alphas, tick, half, touched, bins, out_i, out_f, until
):  # fmt: skip
    """Close the bins that end at or before ``until`` (time passed with no event)."""
    row = 0
    while bins[B_END] != 0 and bins[B_END] <= until:
        if row + 2 * half + 1 > out_i.shape[0]:
            return NEED_FLUSH, row
        if _grid_outside(meta, counts.shape[1], half):
            return NEED_WINDOW, row
        row = _emit_bin(
            levels, counts, meta, mass, chain, alphas, tick, half, bins, out_i, out_f, row
        )
        _clear_touched(mass, touched, bins)
        bins[B_END] += bins[B_WIDTH]
    return DONE, row


class GridBuilder:
    """Turns MBO events into grid rows, bin after bin (a replay feeds it chunk by chunk)."""

    def __init__(
        self,
        instrument: InstrumentConfig,
        rows_per_chunk: int = 1 << 16,
        book: OrderBook | None = None,
    ) -> None:
        """``book``: start from this book (a warmed or saved one) instead of an empty one."""
        self.instrument = instrument
        self.book = book if book is not None else OrderBook(instrument.tick)
        self.half = instrument.grid_half_width_ticks
        self.alphas = np.array(
            [instrument.ema.alpha_v, instrument.ema.alpha_a, instrument.ema.alpha_j]
        )
        width = self.book._levels.shape[1]
        self.book.slot_extras["pending"] = np.zeros(self.book._side.size, dtype=np.int64)
        self.book.tick_extras["mass"] = np.zeros((3, 2, width), dtype=np.int64)
        self.book.tick_extras["chain"] = np.zeros((4, width), dtype=np.float64)
        self.touched = np.zeros((1 << 16, 2), dtype=np.int64)
        self.bins = np.array(
            [0, instrument.cell_width_ms * 1_000_000, EMPTY, EMPTY, 1, 0], dtype=np.int64
        )
        self.rows = max(rows_per_chunk, 2 * self.half + 1)

    def feed(self, events: np.ndarray) -> Iterator[dict[str, np.ndarray]]:
        """Apply ``events``; yield the grid rows of every bin that closed, as columns."""
        book = self.book
        if not book._anchored and events.size:
            book._anchor(events)
        begin = 0
        while True:
            out_i = np.zeros((self.rows, 14), dtype=np.int64)
            out_f = np.zeros((self.rows, 7), dtype=np.float64)
            status, begin, written = _grid_apply(
                events, begin, book._keys, book._vals, book._side, book._idx, book._size,
                book._free, book._levels, book._counts, book._meta, book.anomaly_counts,
                book.tick, book.slot_extras["pending"], book.tick_extras["mass"],
                book.tick_extras["chain"], self.alphas, self.half, self.touched, self.bins,
                out_i, out_f, 0,
            )  # fmt: skip
            if written:
                yield _columns(out_i[:written], out_f[:written])
            if status == DONE:
                return
            if status == NEED_WINDOW:
                book._widen(int(book._meta[M_WANT_TICK]))
            elif status == NEED_TABLE:
                book._grow_table()

    def close(self, until_ns: int) -> Iterator[dict[str, np.ndarray]]:
        """The bins ending at or before ``until_ns`` that no later event closed (the end of
        a file, the end of a range): time has passed, so they are final."""
        yield from _close_rows(self, until_ns)


def _close_rows(builder: GridBuilder, until_ns: int) -> Iterator[dict[str, np.ndarray]]:
    book = builder.book
    while True:
        out_i = np.zeros((builder.rows, 14), dtype=np.int64)
        out_f = np.zeros((builder.rows, 7), dtype=np.float64)
        status, written = _grid_close(
            book._levels, book._counts, book._meta, book.tick_extras["mass"],
            book.tick_extras["chain"], builder.alphas, book.tick, builder.half,
            builder.touched, builder.bins, out_i, out_f, until_ns,
        )  # fmt: skip
        if written:
            yield _columns(out_i[:written], out_f[:written])
        if status == DONE:
            return
        if status == NEED_WINDOW:
            book._widen(int(book._meta[M_WANT_TICK]))


def _columns(out_i: np.ndarray, out_f: np.ndarray) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(_INT_COLUMNS):
        if name is None:
            continue
        dtype = np.int64 if name in _INT else np.int8 if name != "k" else np.int32
        columns[name] = out_i[:, index].astype(dtype)
    for index, name in enumerate(_FLOAT_COLUMNS):
        columns[name] = out_f[:, index]
    columns["valid"] = columns["valid"].astype(np.bool_)
    return {name: columns[name] for name in SILVER_COLS}
