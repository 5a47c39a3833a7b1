"""Differential test: the engine's top 10 levels (price, size, orders) after every event
boundary of the real ES session equal NautilusTrader's L3_MBO book replaying the same file
(its output recorded in tests/data/mbo, with how it was made)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from tradeloop.adapters.databento.mbo_file import read_all_mbo
from tradeloop.features.book.engine import OrderBook

ROOT = Path(__file__).resolve().parents[4]


def _digest(levels: np.ndarray) -> int:
    data = levels.astype("<i8").tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def test_es_session_when_replayed_then_every_boundary_equals_nautilus_trader() -> None:
    recorded = np.load(ROOT / "tests" / "data" / "mbo" / "nautilus_esh4_top10.npz")
    events = read_all_mbo(
        ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    )
    ours = OrderBook(250_000_000).apply(events, depth=10).depth
    assert len(ours) == int(recorded["boundaries"]) == 47_022
    np.testing.assert_array_equal(ours[0], recorded["first"])
    np.testing.assert_array_equal(ours[-1], recorded["last"])
    digests = np.array([_digest(levels) for levels in ours], dtype=np.uint64)
    differing = np.flatnonzero(digests != recorded["digest"])
    assert differing.size == 0, f"{differing.size} boundaries differ, first at {differing[:5]}"
