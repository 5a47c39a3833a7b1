"""The Gold DSL: validation refuses cycles (naming the nodes), refs outside SILVER_COLS,
ewm without alpha, per-tick values where per-bin ones are needed, duplicate ids, a spec
without output; GoldConfig <-> DSL round-trips; and the force block run as a DSL equals
the gold runtime on the real ES grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tradeloop.adapters.databento.mbo_file import read_all_mbo
from tradeloop.core.errors import ConfigError
from tradeloop.features.book.gold import GoldConfig, GoldRuntime
from tradeloop.features.book.grid import SILVER_COLS, GridBuilder
from tradeloop.features.book.instrument import load_instrument
from tradeloop.features.dsl.gold_compat import dsl_to_gold_config, gold_config_to_dsl
from tradeloop.features.dsl.gold_dsl import GoldDslSpec, execute_dsl, validate_dsl

ROOT = Path(__file__).resolve().parents[3]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"


def _spec(*nodes: dict) -> GoldDslSpec:
    return GoldDslSpec.model_validate({"name": "t", "nodes": list(nodes)})


OUT = {"id": "out", "type": "output", "input": "s", "name": "x"}
REF = {"id": "p", "type": "silver_ref", "column": "pressure"}
SPATIAL = {"id": "s", "type": "spatial", "input": "p", "side": "below", "decay": 4}


@pytest.mark.parametrize(
    ("nodes", "says"),
    [
        ([REF, {**SPATIAL, "input": "t"}, {"id": "t", "type": "temporal", "input": "s",
          "agg": "mean", "window": 3}, OUT], "a cycle among nodes s, t"),
        ([{**REF, "column": "composite"}, SPATIAL, OUT], "'composite' is not a silver column"),
        ([REF, SPATIAL, {**OUT, "input": "nope"}], "input 'nope' is no node"),
        ([REF, {"id": "t", "type": "temporal", "input": "p", "agg": "mean"},
          {**OUT, "input": "t"}], "temporal needs a per-bin input"),
        ([REF, SPATIAL], "no output node"),
        ([REF, SPATIAL, SPATIAL, OUT], "node s: the id is used twice"),
    ],
)  # fmt: skip
def test_dsl_when_invalid_then_refused_naming_the_node(nodes: list[dict], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        validate_dsl(_spec(*nodes))


def test_dsl_when_ewm_without_alpha_then_the_spec_does_not_parse() -> None:
    with pytest.raises(ValidationError, match="agg ewm needs alpha"):
        _spec(REF, SPATIAL, {"id": "e", "type": "temporal", "input": "s", "agg": "ewm"})


@settings(max_examples=50, deadline=None)
@given(
    st.floats(0.5, 50), st.floats(0, 3), st.floats(0.01, 3), st.floats(0.01, 0.99),
    st.floats(0.01, 0.99), st.floats(0.01, 0.99), st.floats(0.001, 1), st.integers(2, 5000),
)  # fmt: skip
def test_compat_when_config_to_dsl_and_back_then_the_same_config(
    decay: float, pw: float, vw: float, a1: float, a2: float, a3: float, t: float, w: int
) -> None:
    config = GoldConfig(decay_ticks=decay, pressure_weight=pw, vacuum_weight=vw, alpha_d1=a1,
                        alpha_d2=a2, alpha_d3=a3, state_threshold=t, spectrum_window=w)  # fmt: skip
    assert dsl_to_gold_config(gold_config_to_dsl(config)) == config


def test_compat_when_the_graph_is_rewired_then_refused() -> None:
    dsl = gold_config_to_dsl(GoldConfig())
    nodes = [n.model_copy(update={"input": "p_below"}) if n.id == "d1" else n for n in dsl.nodes]
    with pytest.raises(ConfigError, match="wired otherwise"):
        dsl_to_gold_config(dsl.model_copy(update={"nodes": tuple(nodes)}))
    with pytest.raises(ConfigError, match="no Spatial node 'p_below'"):
        dsl_to_gold_config(_spec(REF, SPATIAL, OUT))


def test_force_block_when_run_as_dsl_then_equals_the_gold_runtime() -> None:
    es = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml").with_changes(
        cell_width_ms=10_000, grid_half_width_ticks=8
    )
    parts = list(GridBuilder(es, rows_per_chunk=17 * 200).feed(read_all_mbo(DAY)))
    grid = {name: np.concatenate([p[name] for p in parts]) for name in SILVER_COLS}
    config = GoldConfig(decay_ticks=5, pressure_weight=2, vacuum_weight=1, spectrum_window=50)
    live = GoldRuntime(config, 0.25, 8).update(grid)
    clean = {k: v[grid["valid"]] for k, v in grid.items()}  # what a dataset keeps
    dsl = execute_dsl(gold_config_to_dsl(config), clean, 17, 0.25)
    valid = live["valid"]
    assert valid.sum() == len(dsl["composite"]) > 1000
    for name in ("pressure_variant", "vacuum_variant", "composite", "composite_d1",
                 "composite_d2", "composite_d3", "spectrum_score"):  # fmt: skip
        np.testing.assert_allclose(
            dsl[name], live[name][valid], rtol=1e-9, atol=1e-12, err_msg=name
        )
    np.testing.assert_array_equal(dsl["state5_code"], live["state5_code"][valid])
