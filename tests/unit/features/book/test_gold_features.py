"""Gold features: the force block follows its definitions (checked against a plain-Python
reference on the real ES grid); fed bin by bin (live) or whole (offline) it gives the same
values; invalid bins give zeros and leave the state as it was; the offline file equals
the runtime."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tradeloop.adapters.databento.mbo_file import DatabentoSource, read_all_mbo
from tradeloop.core.errors import DataError
from tradeloop.features.book.gold import GOLD_COLS, GoldConfig, GoldRuntime
from tradeloop.features.book.grid import SILVER_COLS, GridBuilder
from tradeloop.features.book.instrument import load_instrument
from tradeloop.usecases.mbo_gold import gold_from_grid
from tradeloop.usecases.mbo_replay import replay_grid

ROOT = Path(__file__).resolve().parents[4]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
ES = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml").with_changes(
    cell_width_ms=10_000, grid_half_width_ticks=6
)
CONFIG = GoldConfig(spectrum_window=20, state_threshold=0.01)


@pytest.fixture(scope="module")
def grid() -> dict[str, np.ndarray]:
    builder = GridBuilder(ES, rows_per_chunk=13 * 500)
    parts = list(builder.feed(read_all_mbo(DAY)))
    return {name: np.concatenate([p[name] for p in parts]) for name in SILVER_COLS}


def _reference(grid: dict[str, np.ndarray], config: GoldConfig, cells: int) -> list[dict]:
    """The module docstring's definitions, written the plain way."""
    rows, chain, history = [], [0.0, 0.0, 0.0, 0.0], []
    alphas = (config.alpha_d1, config.alpha_d2, config.alpha_d3)
    for start in range(0, len(grid["k"]), cells):
        b = {k: v[start : start + cells] for k, v in grid.items()}
        if not b["valid"][0]:
            rows.append(None)
            continue
        mid = b["mid"][0]
        weights, pb, pa, vb, va = 0.0, 0.0, 0.0, 0.0, 0.0
        for price, pressure, vacuum in zip(b["price"], b["pressure"], b["vacuum"], strict=True):
            if price == 0:
                continue
            p = price / 1e9
            w = math.exp(-abs(p - mid) / 0.25 / config.decay_ticks)
            weights += w
            if p < mid:
                pb, vb = pb + w * pressure, vb + w * vacuum
            elif p > mid:
                pa, va = pa + w * pressure, va + w * vacuum
        pv, vv = (pb - pa) / weights, (va - vb) / weights
        composite = (pv + vv) / 2
        d1 = (1 - alphas[0]) * chain[1] + alphas[0] * (composite - chain[0])
        d2 = (1 - alphas[1]) * chain[2] + alphas[1] * (d1 - chain[1])
        d3 = (1 - alphas[2]) * chain[3] + alphas[2] * (d2 - chain[2])
        chain = [composite, d1, d2, d3]
        state = 0
        if abs(composite) >= config.state_threshold:
            s = 1 if composite > 0 else -1
            state = 2 * s if d1 * s > 0 else s
        window = history[-config.spectrum_window :]
        score = 0.0
        if len(window) >= 2 and np.std(window, ddof=1) > 0:
            score = (composite - np.mean(window)) / np.std(window, ddof=1)
        history.append(composite)
        rows.append(
            {"pressure_variant": pv, "vacuum_variant": vv, "composite": composite,
             "composite_d1": d1, "composite_d2": d2, "composite_d3": d3,
             "state5_code": state, "spectrum_score": score}
        )  # fmt: skip
    return rows


def test_gold_when_computed_then_follows_its_definitions(grid: dict[str, np.ndarray]) -> None:
    gold = GoldRuntime(CONFIG, 0.25, 6).update(grid)
    expected = _reference(grid, CONFIG, 13)
    assert len(expected) == len(gold["bin_end_ns"]) > 1000
    assert {-2, -1, 0, 1, 2} <= set(gold["state5_code"].tolist())
    checked = 0
    for i, row in enumerate(expected):
        if row is None:
            assert not gold["valid"][i]
            assert gold["composite"][i] == 0
            continue
        for name, value in row.items():
            assert gold[name][i] == pytest.approx(value, rel=1e-9, abs=1e-12), (i, name)
        checked += 1
    assert checked > 1000


def test_gold_when_fed_bin_by_bin_then_equal_to_whole(grid: dict[str, np.ndarray]) -> None:
    whole = GoldRuntime(CONFIG, 0.25, 6).update(grid)
    live = GoldRuntime(CONFIG, 0.25, 6)
    parts = [
        live.update({k: v[i : i + 13] for k, v in grid.items()})
        for i in range(0, len(grid["k"]), 13)
    ]
    for name in GOLD_COLS:
        np.testing.assert_array_equal(np.concatenate([p[name] for p in parts]), whole[name])


def test_gold_when_bin_invalid_then_zeros_and_state_untouched(
    grid: dict[str, np.ndarray],
) -> None:
    valid = next(i for i in range(0, len(grid["k"]), 13) if grid["valid"][i])
    good = {k: v[valid : valid + 13] for k, v in grid.items()}
    broken = {**good, "valid": np.zeros(13, dtype=bool), "mid": np.zeros(13)}
    a, b = GoldRuntime(CONFIG, 0.25, 6), GoldRuntime(CONFIG, 0.25, 6)
    a.update(good)
    b.update(good)
    skipped = b.update(broken)
    assert skipped["composite"][0] == 0
    assert skipped["state5_code"][0] == 0
    for name in GOLD_COLS[3:]:
        assert a.update(good)[name][0] == b.update(good)[name][0]


def test_gold_when_rows_not_whole_bins_then_refused(grid: dict[str, np.ndarray]) -> None:
    with pytest.raises(DataError, match="not whole bins of 13"):
        GoldRuntime(CONFIG, 0.25, 6).update({k: v[:20] for k, v in grid.items()})


def test_gold_file_when_generated_offline_then_equals_the_live_runtime(tmp_path: Path) -> None:
    es = ES.with_changes(gold=CONFIG)
    replay_grid(DatabentoSource(), [DAY], es, out=tmp_path / "grid.parquet")
    bins = gold_from_grid(tmp_path / "grid.parquet", tmp_path / "gold.parquet", es)
    table = pq.read_table(tmp_path / "gold.parquet")
    assert table.column_names == list(GOLD_COLS)
    assert table.num_rows == bins > 1000
    silver = pq.read_table(tmp_path / "grid.parquet")
    live = GoldRuntime(CONFIG, 0.25, 6)
    for i in range(0, silver.num_rows, 13 * 97):  # bins arrive a few at a time
        part = silver.slice(i, 13 * 97)
        gold = live.update({n: part.column(n).to_numpy() for n in SILVER_COLS})
        offline = table.slice(i // 13, len(gold["composite"]))
        for name in GOLD_COLS:
            np.testing.assert_array_equal(offline.column(name).to_numpy(), gold[name])
