"""The browser computes gold from silver with the same numbers as Python: the fixture (five
minutes of the real ESH4 session, 1 s bins, 21 ticks) holds the silver bins and Python's
gold; this test recomputes both from the recorded day and requires the committed fixture
to match, then runs the TypeScript runtime over it (Vitest) and requires equal values to
1e-9 relative.

Regenerate the fixture after a deliberate change:
``python tests/integration/test_web_gold_parity.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradeloop.adapters.databento.mbo_file import DatabentoSource
from tradeloop.features.book.gold import GoldConfig, GoldRuntime
from tradeloop.features.book.instrument import load_instrument
from tradeloop.usecases.mbo_replay import grid_chunks

ROOT = Path(__file__).resolve().parents[2]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
FIXTURE = ROOT / "web" / "src" / "fixtures" / "gold_parity.json"
FROM, TO = 1703545200_000_000_000, 1703545500_000_000_000


def build_fixture() -> dict[str, Any]:
    es = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml").with_changes(
        cell_width_ms=1_000, grid_half_width_ticks=10
    )
    chunks = list(grid_chunks(DatabentoSource(), [DAY], es, from_ns=FROM, to_ns=TO))
    grid = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    config = GoldConfig(spectrum_window=50)
    gold = GoldRuntime(config, es.tick_size, es.grid_half_width_ticks).update(grid)
    cells = 2 * es.grid_half_width_ticks + 1
    bins = []
    for b in range(len(gold["bin_end_ns"])):
        rows = slice(b * cells, (b + 1) * cells)
        bins.append({
            "bin_end_ns": str(int(grid["bin_end_ns"][rows][0])),
            "mid": float(grid["mid"][rows][0]),
            "valid": bool(grid["valid"][rows][0]),
            "price": [int(p) for p in grid["price"][rows]],
            "pressure": [float(v) for v in grid["pressure"][rows]],
            "vacuum": [float(v) for v in grid["vacuum"][rows]],
        })  # fmt: skip
    names = [n for n in gold if n not in ("bin_end_ns", "valid", "mid")]
    expected = [{n: float(gold[n][b]) for n in names} for b in range(len(bins))]
    return {"tick_size": es.tick_size, "config": config.model_dump(), "bins": bins,
            "expected": expected}  # fmt: skip


def test_gold_fixture_when_recomputed_in_python_then_equal_to_the_committed_one() -> None:
    fresh = build_fixture()
    committed = json.loads(FIXTURE.read_text())
    assert len(fresh["bins"]) == 300
    assert sum(b["valid"] for b in fresh["bins"]) > 250
    assert committed == fresh, "regenerate: python tests/integration/test_web_gold_parity.py"


def test_gold_when_computed_by_the_browser_runtime_then_equal_to_python() -> None:
    if shutil.which("npx") is None or not (ROOT / "web" / "node_modules").exists():
        pytest.skip("web/node_modules missing: make ui")  # make test installs them first
    done = subprocess.run(["npx", "vitest", "run", "src/gold.test.ts"], cwd=ROOT / "web",
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(build_fixture(), separators=(",", ":")) + "\n")
