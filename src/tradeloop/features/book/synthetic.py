# mypy: disable-error-code="no-untyped-def"
# (the compiled kernels take a dozen state arrays each; Numba types them, not annotations)
"""A seeded order-flow simulator: one trading day of market-by-order events for scale
tests and benchmarks, deterministic for a seed.

The book starts from a snapshot (orders on 20 levels a side, F_SNAPSHOT). Then, at a
U-shaped time-of-day intensity (busy open and close, quiet midday), each event is one of:
an add near the touch (distance geometric in ticks, size geometric), a cancel of a random
resting order, a modify of one (size up or down, queue kept), or a market order that
trades against the opposite side in time priority: a T record for the aggressor, then per
passive order an F (filled quantity) and a C (filled whole) or M (what is left). Every
event's last record carries F_LAST; prices stay on the tick; the book is never crossed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

from tradeloop.features.book.events import F_LAST, F_SNAPSHOT, MBO_DTYPE

WINDOW = 1 << 15  # ticks the simulated prices may use, centred on the start price
MAX_ORDERS = 1 << 20
MAX_RECORDS_PER_EVENT = 64
SNAPSHOT_LEVELS = 20
A, C, M, T, F = ord("A"), ord("C"), ord("M"), ord("T"), ord("F")
BID, ASK = ord("B"), ord("A")


@dataclass
class SimState:
    """Everything the simulator carries from one chunk to the next."""

    seed: int
    start_ns: int
    session_ns: int
    events_per_s: float
    centre_tick: int
    scalars: np.ndarray = field(default_factory=lambda: np.zeros(8, dtype=np.int64))
    o_side: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ORDERS, dtype=np.int64))
    o_idx: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ORDERS, dtype=np.int64))
    o_size: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ORDERS, dtype=np.int64))
    o_id: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ORDERS, dtype=np.uint64))
    o_next: np.ndarray = field(default_factory=lambda: np.full(MAX_ORDERS, -1, dtype=np.int64))
    o_prev: np.ndarray = field(default_factory=lambda: np.full(MAX_ORDERS, -1, dtype=np.int64))
    live: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ORDERS, dtype=np.int64))
    live_pos: np.ndarray = field(default_factory=lambda: np.full(MAX_ORDERS, -1, dtype=np.int64))
    free: np.ndarray = field(
        default_factory=lambda: np.arange(MAX_ORDERS - 1, -1, -1, dtype=np.int64)
    )
    head: np.ndarray = field(default_factory=lambda: np.full((2, WINDOW), -1, dtype=np.int64))
    tail: np.ndarray = field(default_factory=lambda: np.full((2, WINDOW), -1, dtype=np.int64))
    counts: np.ndarray = field(default_factory=lambda: np.zeros((2, WINDOW), dtype=np.int64))

    def __post_init__(self) -> None:
        self.scalars[:] = (0, 1, 0, MAX_ORDERS, -1, -1, 0, 0)


# scalars: 0 time (ns since start), 1 next order id, 2 live count, 3 free top, 4 best bid,
# 5 best ask, 6 sequence, 7 started (snapshot written)


@nb.njit(cache=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


@nb.njit(cache=True)
def _geometric(p: float) -> int:
    return int(np.random.geometric(p)) - 1


@nb.njit(cache=True)
def _link(s, o_side, o_idx, o_next, o_prev, head, tail, counts, slot):
    side, idx = o_side[slot], o_idx[slot]
    o_next[slot] = -1
    o_prev[slot] = tail[side, idx]
    if tail[side, idx] >= 0:
        o_next[tail[side, idx]] = slot
    else:
        head[side, idx] = slot
    tail[side, idx] = slot
    counts[side, idx] += 1
    if side == 0 and (s[4] < 0 or idx > s[4]):
        s[4] = idx
    if side == 1 and (s[5] < 0 or idx < s[5]):
        s[5] = idx


@nb.njit(cache=True)
def _unlink(s, o_side, o_idx, o_next, o_prev, head, tail, counts, live, live_pos, free, slot):
    side, idx = o_side[slot], o_idx[slot]
    if o_prev[slot] >= 0:
        o_next[o_prev[slot]] = o_next[slot]
    else:
        head[side, idx] = o_next[slot]
    if o_next[slot] >= 0:
        o_prev[o_next[slot]] = o_prev[slot]
    else:
        tail[side, idx] = o_prev[slot]
    counts[side, idx] -= 1
    pos = live_pos[slot]
    last = live[s[2] - 1]
    live[pos] = last
    live_pos[last] = pos
    live_pos[slot] = -1
    s[2] -= 1
    free[s[3]] = slot
    s[3] += 1
    if counts[side, idx] == 0:
        width = counts.shape[1]
        if side == 0 and idx == s[4]:
            best = -1
            for j in range(idx - 1, -1, -1):
                if counts[0, j] > 0:
                    best = j
                    break
            s[4] = best
        elif side == 1 and idx == s[5]:
            best = -1
            for j in range(idx + 1, width):
                if counts[1, j] > 0:
                    best = j
                    break
            s[5] = best


@nb.njit(cache=True)
def _new_order(
    s,
    o_side,
    o_idx,
    o_size,
    o_id,
    o_next,
    o_prev,
    head,
    tail,
    counts,
    live,
    live_pos,
    free,
    side,
    idx,
    size,
):
    s[3] -= 1
    slot = free[s[3]]
    o_side[slot], o_idx[slot], o_size[slot] = side, idx, size
    o_id[slot] = np.uint64(s[1])
    s[1] += 1
    live[s[2]] = slot
    live_pos[slot] = s[2]
    s[2] += 1
    _link(s, o_side, o_idx, o_next, o_prev, head, tail, counts, slot)
    return slot


@nb.njit(cache=True)
def _emit(out, row, s, start_ns, base_tick, tick, action, side, slot_id, idx, size, flags):
    t = start_ns + s[0]
    out[row].ts_event = t
    out[row].ts_recv = t + 3_000  # a few microseconds to the gateway
    out[row].order_id = slot_id
    out[row].price = (base_tick + idx) * tick
    out[row].size = size
    out[row].action = action
    out[row].side = side
    out[row].flags = flags
    out[row].instrument_id = 1
    out[row].sequence = s[6]
    s[6] += 1


@nb.njit(cache=True)
def _simulate(
    out,
    s,
    o_side,
    o_idx,
    o_size,
    o_id,
    o_next,
    o_prev,
    head,
    tail,
    counts,
    live,
    live_pos,
    free,
    start_ns,
    session_ns,
    rate,
    base_tick,
    tick,
):
    """Fill ``out`` with whole events (never one split across calls); how many records."""
    width = counts.shape[1]
    centre = width // 2
    row = 0
    if s[7] == 0:  # the opening snapshot
        for level in range(1, SNAPSHOT_LEVELS + 1):
            for side in range(2):
                idx = centre - level if side == 0 else centre + level - 1
                for _ in range(3 + _geometric(0.3)):
                    slot = _new_order(
                        s,
                        o_side,
                        o_idx,
                        o_size,
                        o_id,
                        o_next,
                        o_prev,
                        head,
                        tail,
                        counts,
                        live,
                        live_pos,
                        free,
                        side,
                        idx,
                        1 + _geometric(0.3),
                    )
                    _emit(
                        out,
                        row,
                        s,
                        start_ns,
                        base_tick,
                        tick,
                        A,
                        BID if side == 0 else ASK,
                        o_id[slot],
                        idx,
                        o_size[slot],
                        F_SNAPSHOT,
                    )
                    row += 1
        out[row - 1].flags = F_SNAPSHOT | F_LAST
        s[7] = 1
    while row <= out.size - MAX_RECORDS_PER_EVENT:
        u = min(s[0] / session_ns, 1.0)
        intensity = rate * (0.4 + 4.0 * (u - 0.5) ** 2)  # U-shaped: 3.5x at the ends
        s[0] += max(1, int(np.random.exponential(1e9 / intensity)))
        r = np.random.random()
        bid, ask = s[4], s[5]
        # the book's depth reverts to about 1,500 orders: more adds below, fewer above
        add_share = 0.62 if s[2] < 1_500 else 0.30
        if bid < 0 or ask < 0 or r < add_share or s[2] < 40:
            side = 0 if np.random.random() < 0.5 else 1
            k = _geometric(0.25)  # ticks behind the touch
            spread = ask - bid if bid >= 0 and ask >= 0 else 1
            if side == 0:
                ref = bid if bid >= 0 else ask - 1
                idx = ref - k
                if spread > 1 and np.random.random() < 0.4:
                    idx = ref + 1  # a new best bid inside the spread
            else:
                ref = ask if ask >= 0 else bid + 1
                idx = ref + k
                if spread > 1 and np.random.random() < 0.4:
                    idx = ref - 1
            idx = min(max(idx, 1), width - 2)
            if s[3] == 0:
                continue
            slot = _new_order(
                s,
                o_side,
                o_idx,
                o_size,
                o_id,
                o_next,
                o_prev,
                head,
                tail,
                counts,
                live,
                live_pos,
                free,
                side,
                idx,
                1 + _geometric(0.3),
            )
            _emit(
                out,
                row,
                s,
                start_ns,
                base_tick,
                tick,
                A,
                BID if side == 0 else ASK,
                o_id[slot],
                idx,
                o_size[slot],
                F_LAST,
            )
            row += 1
        elif r < 0.76:  # cancel a random resting order
            slot = live[np.random.randint(0, s[2])]
            _emit(
                out,
                row,
                s,
                start_ns,
                base_tick,
                tick,
                C,
                BID if o_side[slot] == 0 else ASK,
                o_id[slot],
                o_idx[slot],
                o_size[slot],
                F_LAST,
            )
            row += 1
            _unlink(
                s, o_side, o_idx, o_next, o_prev, head, tail, counts, live, live_pos, free, slot
            )
        elif r < 0.86:  # modify its size, same price
            slot = live[np.random.randint(0, s[2])]
            change = 1 + _geometric(0.5)
            o_size[slot] = (
                o_size[slot] + change if np.random.random() < 0.4 else max(1, o_size[slot] - change)
            )
            _emit(
                out,
                row,
                s,
                start_ns,
                base_tick,
                tick,
                M,
                BID if o_side[slot] == 0 else ASK,
                o_id[slot],
                o_idx[slot],
                o_size[slot],
                F_LAST,
            )
            row += 1
        else:  # a market order, filled against the other side in time priority
            buy = np.random.random() < 0.5
            passive = 1 if buy else 0
            best = ask if buy else bid
            quantity = 1 + _geometric(0.12)  # heavy enough to take out the touch at times
            _emit(
                out,
                row,
                s,
                start_ns,
                base_tick,
                tick,
                T,
                BID if buy else ASK,
                np.uint64(0),
                best,
                quantity,
                0,
            )
            row += 1
            while quantity > 0 and row <= out.size - 3:
                best = s[5] if buy else s[4]
                if best < 0 or s[2] <= 40:
                    break
                slot = head[passive, best]
                take = min(quantity, o_size[slot])
                quantity -= take
                side_code = ASK if buy else BID
                _emit(
                    out, row, s, start_ns, base_tick, tick, F, side_code, o_id[slot], best, take, 0
                )
                row += 1
                if take == o_size[slot]:
                    _emit(
                        out,
                        row,
                        s,
                        start_ns,
                        base_tick,
                        tick,
                        C,
                        side_code,
                        o_id[slot],
                        best,
                        take,
                        0,
                    )
                    row += 1
                    _unlink(
                        s,
                        o_side,
                        o_idx,
                        o_next,
                        o_prev,
                        head,
                        tail,
                        counts,
                        live,
                        live_pos,
                        free,
                        slot,
                    )
                else:
                    o_size[slot] -= take
                    _emit(
                        out,
                        row,
                        s,
                        start_ns,
                        base_tick,
                        tick,
                        M,
                        side_code,
                        o_id[slot],
                        best,
                        o_size[slot],
                        0,
                    )
                    row += 1
                if row > out.size - MAX_RECORDS_PER_EVENT:
                    break
            out[row - 1].flags = out[row - 1].flags | F_LAST
    return row


def simulate_chunks(state: SimState, records: int, tick: int, chunk: int = 1_000_000):
    """Yield ``MBO_DTYPE`` chunks until at least ``records`` records were made."""
    _seed(state.seed)
    made = 0
    base_tick = state.centre_tick - WINDOW // 2
    while made < records:
        size = max(min(chunk, records - made + MAX_RECORDS_PER_EVENT), 2 * MAX_RECORDS_PER_EVENT)
        out = np.zeros(max(size, 4 * SNAPSHOT_LEVELS * 20 + MAX_RECORDS_PER_EVENT), dtype=MBO_DTYPE)
        rows = _simulate(
            out, state.scalars, state.o_side, state.o_idx, state.o_size, state.o_id,
            state.o_next, state.o_prev, state.head, state.tail, state.counts, state.live,
            state.live_pos, state.free, state.start_ns, state.session_ns, state.events_per_s,
            base_tick, tick,
        )  # fmt: skip
        made += rows
        yield out[:rows]
