"""NautilusTrader's side of bench_mbo_book.py, run in its own venv (it needs pandas < 3):
decode a DBN MBO file with its Databento loader and apply every delta to its L3_MBO
OrderBook from Python, ``--reps`` times; print the timings as JSON and, with ``--levels``,
save the top 10 levels (price, size, orders) of each side after every F_LAST delta.

    benchmarks/.venv-nautilus/bin/python benchmarks/peers/nautilus_book.py FILE --reps 3
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from nautilus_trader.adapters.databento.loaders import DatabentoDataLoader
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId

F_LAST = 128
SCALE = 1_000_000_000


def _top(book: OrderBook, depth: int) -> np.ndarray:
    out = np.zeros((2, depth, 3), dtype=np.int64)
    out[:, :, 0] = np.iinfo(np.int64).max
    for side, levels in ((0, book.bids()), (1, book.asks())):
        for i, level in enumerate(levels[:depth]):
            out[side, i] = (
                round(float(level.price) * SCALE),
                round(level.size()),
                len(level.orders()),
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--levels", default=None, help="save per-boundary top 10 here (.npy)")
    args = parser.parse_args()
    instrument = InstrumentId.from_str("ESH4.GLBX")
    decode, apply, deltas_total = 0.0, 0.0, 0
    for rep in range(args.reps):
        started = time.perf_counter()
        deltas = DatabentoDataLoader().from_dbn_file(
            args.file, instrument_id=instrument, as_legacy_cython=True
        )
        decoded = time.perf_counter()
        book = OrderBook(instrument, book_type=BookType.L3_MBO)
        tops = []
        for delta in deltas:
            book.apply_delta(delta)
            if rep == 0 and args.levels and delta.flags & F_LAST:
                tops.append(_top(book, 10))
        applied = time.perf_counter()
        decode += decoded - started
        apply += applied - decoded
        deltas_total += len(deltas)
        if rep == 0 and args.levels:
            np.save(args.levels, np.array(tops))
    print(
        json.dumps(
            {"decode_s": decode, "apply_s": apply, "deltas": deltas_total, "reps": args.reps}
        )
    )


if __name__ == "__main__":
    main()
