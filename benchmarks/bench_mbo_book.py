"""Order-book replay: tradeloop's compiled book vs NautilusTrader's L3_MBO OrderBook on the
same real events (the ES March 2024 session shipped in src/tradeloop/data/mbo, 68,792
MBO records), side by side in one run.

- **decode + apply** (what a replay costs end to end): the DBN file decoded and every
  event applied, repeated ``--reps`` times; tradeloop as ``tradeloop mbo book --at`` runs
  it (``usecases.mbo_book.book_at``: the file streamed through ``databento`` in chunks
  into ``OrderBook.apply``, the book's top 10 at the end), NautilusTrader through its
  Databento loader + ``apply_delta`` from Python (run in ``benchmarks/.venv-nautilus``,
  which it needs for pandas < 3). Neither records the book after every event here.
- **kernel** (the update loop alone): the session tiled to >= 10M events in memory (a clear
  between copies), BBO after every event boundary, and again with the top 10 levels.

    .venv/bin/python benchmarks/bench_mbo_book.py [--reps 20] [--tiles 150]

Without the NautilusTrader venv the peer column is skipped (its setup: tests/data/mbo/README.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from tradeloop.adapters.databento.mbo_file import CHUNK, DatabentoSource, read_all_mbo
from tradeloop.features.book.engine import OrderBook
from tradeloop.features.book.events import ACTION_CLEAR, MBO_DTYPE
from tradeloop.features.book.instrument import load_instrument
from tradeloop.usecases.mbo_book import book_at

ROOT = Path(__file__).resolve().parents[1]
SESSION = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
PEER = ROOT / "benchmarks" / ".venv-nautilus" / "bin" / "python"
TICK = 250_000_000


def _ours_end_to_end(reps: int) -> tuple[float, int]:
    instrument = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml")
    end = 2**62  # after the session: the whole file
    book_at(DatabentoSource(), [SESSION], instrument, end, 10)  # compile outside the clock
    started = time.perf_counter()
    events = 0
    for _ in range(reps):
        events += book_at(DatabentoSource(), [SESSION], instrument, end, 10).events
    return time.perf_counter() - started, events


def _peer_end_to_end(reps: int) -> dict[str, float] | None:
    if not PEER.exists():
        return None
    out = subprocess.run(
        [
            str(PEER),
            str(ROOT / "benchmarks" / "peers" / "nautilus_book.py"),
            str(SESSION),
            "--reps",
            str(reps),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _tiled(tiles: int) -> np.ndarray:
    session = read_all_mbo(SESSION)
    clear = np.zeros(1, dtype=MBO_DTYPE)
    clear["action"] = ACTION_CLEAR
    return np.tile(np.concatenate([clear, session]), tiles)


def _kernel(events: np.ndarray, depth: int, runs: int) -> float:
    """Applied in chunks of the size the file reader yields (what a replay does), so the
    per-boundary output stays chunk-sized instead of one multi-GB array."""
    OrderBook(TICK).apply(events[:1000], depth)
    times = []
    for _ in range(runs):
        book = OrderBook(TICK)
        started = time.perf_counter()
        for begin in range(0, len(events), CHUNK):
            book.apply(events[begin : begin + CHUNK], depth)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--tiles", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    seconds, events = _ours_end_to_end(args.reps)
    ours_rate = events / seconds
    print(f"decode + apply, ES session x {args.reps} ({events:,} events), one core:")
    print(f"  tradeloop        {seconds:8.2f} s  {ours_rate / 1e6:6.2f} M events/s")
    peer = _peer_end_to_end(args.reps)
    if peer is None:
        print("  NautilusTrader   (no benchmarks/.venv-nautilus: skipped)")
    else:
        total = peer["decode_s"] + peer["apply_s"]
        peer_rate = peer["deltas"] / total
        print(
            f"  NautilusTrader   {total:8.2f} s  {peer_rate / 1e6:6.2f} M deltas/s "
            f"(decode {peer['decode_s']:.2f} s, apply {peer['apply_s']:.2f} s; it drops "
            "trades, so fewer deltas than events)"
        )
        print(f"  ratio (time for the same file): {total / seconds:.2f}x")

    tiled = _tiled(args.tiles)
    print(f"kernel only, the session tiled to {len(tiled):,} events, median of {args.runs}:")
    for depth, label in ((0, "BBO after each boundary"), (10, "top 10 levels after each")):
        median = _kernel(tiled, depth, args.runs)
        print(f"  {label:28} {median:7.2f} s  {len(tiled) / median / 1e6:6.2f} M events/s")


if __name__ == "__main__":
    main()
