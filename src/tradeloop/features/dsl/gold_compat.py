"""GoldConfig <-> Gold DSL: the VP force block (``features/book/gold.py``) written as a
DSL graph, and read back. ``dsl_to_gold_config(gold_config_to_dsl(c)) == c``; a DSL that
is not the force block's shape is refused, naming what differs."""

from __future__ import annotations

from typing import TypeVar

from tradeloop.core.errors import ConfigError
from tradeloop.features.book.gold import GoldConfig
from tradeloop.features.dsl.gold_dsl import (
    ArithmeticExpr,
    GoldDslSpec,
    NormExpr,
    OutputNode,
    SilverRef,
    Spatial,
    TemporalWindow,
)

N = TypeVar("N")
OUTPUTS = {
    "pressure_variant": "pv", "vacuum_variant": "vv", "composite": "composite",
    "composite_d1": "d1", "composite_d2": "d2", "composite_d3": "d3", "spectrum_score": "spectrum",
}  # fmt: skip


def gold_config_to_dsl(config: GoldConfig, name: str = "vp_force_block") -> GoldDslSpec:
    decay = config.decay_ticks
    weights = config.pressure_weight + config.vacuum_weight
    nodes = [
        SilverRef(id="pressure", column="pressure"),
        SilverRef(id="vacuum", column="vacuum"),
        Spatial(id="p_below", input="pressure", side="below", decay=decay),
        Spatial(id="p_above", input="pressure", side="above", decay=decay),
        Spatial(id="v_below", input="vacuum", side="below", decay=decay),
        Spatial(id="v_above", input="vacuum", side="above", decay=decay),
        ArithmeticExpr(id="pv", op="sub", inputs=("p_below", "p_above")),
        ArithmeticExpr(id="vv", op="sub", inputs=("v_above", "v_below")),
        ArithmeticExpr(id="pv_weighted", op="mul", inputs=("pv",), scalar=config.pressure_weight),
        ArithmeticExpr(id="vv_weighted", op="mul", inputs=("vv",), scalar=config.vacuum_weight),
        ArithmeticExpr(id="weighted", op="add", inputs=("pv_weighted", "vv_weighted")),
        ArithmeticExpr(id="composite", op="div", inputs=("weighted",), scalar=weights),
        TemporalWindow(id="d1", input="composite", agg="ema_diff", alpha=config.alpha_d1),
        TemporalWindow(id="d2", input="d1", agg="ema_diff", alpha=config.alpha_d2),
        TemporalWindow(id="d3", input="d2", agg="ema_diff", alpha=config.alpha_d3),
        NormExpr(id="spectrum", input="composite", method="zscore", window=config.spectrum_window),
    ]
    nodes += [
        OutputNode(id=f"out_{column}", input=node, name=column) for column, node in OUTPUTS.items()
    ]
    return GoldDslSpec(name=name, nodes=tuple(nodes), state_threshold=config.state_threshold)


def _node(spec: GoldDslSpec, node_id: str, kind: type[N]) -> N:
    found = next((n for n in spec.nodes if n.id == node_id), None)
    if not isinstance(found, kind):
        raise ConfigError(
            f"gold DSL {spec.name}: not the VP force block's graph (no {kind.__name__} node "
            f"{node_id!r}). Fix: start from gold_config_to_dsl and change parameters only"
        )
    return found


def dsl_to_gold_config(spec: GoldDslSpec) -> GoldConfig:
    """The GoldConfig a force-block DSL encodes; ConfigError when the graph is another."""
    p_below = _node(spec, "p_below", Spatial)
    chain = [_node(spec, name, TemporalWindow) for name in ("d1", "d2", "d3")]
    try:
        config = GoldConfig(
            decay_ticks=p_below.decay,
            pressure_weight=_node(spec, "pv_weighted", ArithmeticExpr).scalar,
            vacuum_weight=_node(spec, "vv_weighted", ArithmeticExpr).scalar,
            alpha_d1=chain[0].alpha,
            alpha_d2=chain[1].alpha,
            alpha_d3=chain[2].alpha,
            state_threshold=spec.state_threshold,
            spectrum_window=_node(spec, "spectrum", NormExpr).window,
        )
    except ValueError as exc:
        raise ConfigError(
            f"gold DSL {spec.name}: its parameters are no GoldConfig: {exc}"
        ) from None
    if gold_config_to_dsl(config, spec.name) != spec:
        raise ConfigError(
            f"gold DSL {spec.name}: the force block's nodes are there but wired otherwise. "
            "Fix: start from gold_config_to_dsl and change parameters only"
        )
    return config
