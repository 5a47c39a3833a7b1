"""The Gold DSL: a gold feature set as a DAG of nodes over the silver grid, validated
before it runs and executed in topological order.

Values are **per tick** (bins x ticks, as the grid has them) or **per bin**:

- ``silver_ref`` (``column``, one of ``SILVER_COLS``): a per-tick value of the grid.
- ``spatial`` (``input`` per tick, ``side`` below / above / all of the mid, ``decay``):
  per bin, ``Σ_side w·x / Σ_all w`` with ``w = exp(-ticks from the mid / decay)``
  (``decay`` None: w = 1), ticks the grid could not place (price 0) left out.
- ``temporal`` (``input`` per bin, ``agg``, ``window`` / ``alpha``): ``mean``, ``sum``,
  ``std`` over the trailing ``window`` bins (fewer at the start), ``diff`` (x - x one bin
  before), ``ewm`` (``alpha`` required: y = y' + alpha (x - y')), ``ema_diff`` (the
  derivative step: y = (1 - alpha) y' + alpha (x - x')).
- ``arithmetic`` (``op`` add / sub / mul / div, ``inputs`` of one shape, ``scalar`` as the
  second operand when one input): division by 0 gives 0.
- ``norm`` (``input`` per bin, ``method``): ``zscore`` against the previous ``window``
  bins (0 below two or with no spread), ``tanh``, ``minmax`` over the trailing window.
- ``output`` (``input`` per bin, ``name``): a gold column.

With ``state_threshold``, ``state5_code`` is added from the ``composite`` and
``composite_d1`` outputs (as ``features/book/gold.py`` defines it).

``validate_dsl`` refuses duplicate ids, references to nothing, cycles (Kahn's algorithm,
naming the nodes left in them), refs to columns outside ``SILVER_COLS``, a per-tick value
where a per-bin one is needed (and the reverse), and a spec without an output.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Discriminator, Field, Tag, model_validator

from tradeloop.core.config import FrozenConfig
from tradeloop.core.errors import ConfigError
from tradeloop.features.book.events import PRICE_SCALE
from tradeloop.features.book.grid import SILVER_COLS

NODE_ID = r"^[a-z][a-z0-9_]*$"


class SilverRef(FrozenConfig):
    id: str = Field(pattern=NODE_ID)
    type: Literal["silver_ref"] = "silver_ref"
    column: str


class Spatial(FrozenConfig):
    id: str = Field(pattern=NODE_ID)
    type: Literal["spatial"] = "spatial"
    input: str
    side: Literal["below", "above", "all"] = "all"
    decay: float | None = Field(None, gt=0)


class TemporalWindow(FrozenConfig):
    id: str = Field(pattern=NODE_ID)
    type: Literal["temporal"] = "temporal"
    input: str
    agg: Literal["mean", "sum", "std", "diff", "ewm", "ema_diff"]
    window: int = Field(1, ge=1, le=100_000)
    alpha: float | None = Field(None, gt=0, le=1)

    @model_validator(mode="after")
    def _alpha_when_smoothing(self) -> TemporalWindow:
        if self.agg in ("ewm", "ema_diff") and self.alpha is None:
            raise ValueError(f"node {self.id}: agg {self.agg} needs alpha (0 < alpha <= 1)")
        return self


class ArithmeticExpr(FrozenConfig):
    id: str = Field(pattern=NODE_ID)
    type: Literal["arithmetic"] = "arithmetic"
    op: Literal["add", "sub", "mul", "div"]
    inputs: tuple[str, ...] = Field(min_length=1, max_length=2)
    scalar: float | None = None

    @model_validator(mode="after")
    def _two_operands(self) -> ArithmeticExpr:
        if (len(self.inputs) == 2) == (self.scalar is not None):
            raise ValueError(f"node {self.id}: two inputs, or one input and a scalar")
        return self


class NormExpr(FrozenConfig):
    id: str = Field(pattern=NODE_ID)
    type: Literal["norm"] = "norm"
    input: str
    method: Literal["zscore", "tanh", "minmax"]
    window: int = Field(300, ge=2, le=100_000)


class OutputNode(FrozenConfig):
    id: str = Field(pattern=NODE_ID)
    type: Literal["output"] = "output"
    input: str
    name: str = Field(pattern=NODE_ID)


def _node_type(value: Any) -> str | None:
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


# tagged by ``type`` through a function: the config base's checks run before each field,
# which a plain field discriminator does not allow
DslNode = Annotated[
    Annotated[SilverRef, Tag("silver_ref")]
    | Annotated[Spatial, Tag("spatial")]
    | Annotated[TemporalWindow, Tag("temporal")]
    | Annotated[ArithmeticExpr, Tag("arithmetic")]
    | Annotated[NormExpr, Tag("norm")]
    | Annotated[OutputNode, Tag("output")],
    Discriminator(_node_type),
]


class GoldDslSpec(FrozenConfig):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = ""
    nodes: tuple[DslNode, ...] = Field(min_length=1)
    state_threshold: float | None = Field(
        None, gt=0, description="adds state5_code from the composite and composite_d1 outputs"
    )


def _inputs(node: DslNode) -> tuple[str, ...]:
    if isinstance(node, ArithmeticExpr):
        return node.inputs
    if isinstance(node, SilverRef):
        return ()
    return (node.input,)


def validate_dsl(spec: GoldDslSpec) -> list[DslNode]:
    """The nodes in an order they can run in; ConfigError naming every problem."""
    problems: list[str] = []
    by_id: dict[str, DslNode] = {}
    for node in spec.nodes:
        if node.id in by_id:
            problems.append(f"node {node.id}: the id is used twice")
        by_id[node.id] = node
    for node in spec.nodes:
        for ref in _inputs(node):
            if ref not in by_id:
                problems.append(f"node {node.id}: input {ref!r} is no node")
        if isinstance(node, SilverRef) and node.column not in SILVER_COLS:
            problems.append(
                f"node {node.id}: {node.column!r} is not a silver column (SILVER_COLS: "
                f"{', '.join(SILVER_COLS)})"
            )
    if not any(isinstance(n, OutputNode) for n in spec.nodes):
        problems.append("no output node: nothing would be produced")
    if problems:
        raise ConfigError(f"gold DSL {spec.name}: " + "; ".join(problems))
    order = _kahn(spec, by_id)
    _check_shapes(spec, order)
    return order


def _kahn(spec: GoldDslSpec, by_id: dict[str, DslNode]) -> list[DslNode]:
    waiting = {node.id: len(set(_inputs(node))) for node in spec.nodes}
    users: dict[str, list[str]] = {node.id: [] for node in spec.nodes}
    for node in spec.nodes:
        for ref in set(_inputs(node)):
            users[ref].append(node.id)
    ready = deque(n.id for n in spec.nodes if waiting[n.id] == 0)
    order: list[DslNode] = []
    while ready:
        current = ready.popleft()
        order.append(by_id[current])
        for user in users[current]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if len(order) != len(spec.nodes):
        stuck = {i for i, n in waiting.items() if n > 0}
        # what only depends on the cycle is not in it: peel those off from the end
        while tails := {i for i in stuck if not any(u in stuck for u in users[i])}:
            stuck -= tails
        raise ConfigError(f"gold DSL {spec.name}: a cycle among nodes {', '.join(sorted(stuck))}")
    return order


def _check_shapes(spec: GoldDslSpec, order: list[DslNode]) -> None:
    per_tick: dict[str, bool] = {}
    problems = []
    for node in order:
        shapes = [per_tick[ref] for ref in _inputs(node)]
        if isinstance(node, SilverRef):
            per_tick[node.id] = True
        elif isinstance(node, Spatial):
            if not shapes[0]:
                problems.append(f"node {node.id}: spatial needs a per-tick input")
            per_tick[node.id] = False
        elif isinstance(node, ArithmeticExpr):
            if len(set(shapes)) > 1:
                problems.append(f"node {node.id}: inputs of different shapes (tick and bin)")
            per_tick[node.id] = shapes[0]
        else:
            if shapes[0]:
                problems.append(
                    f"node {node.id}: {node.type} needs a per-bin input; reduce the ticks "
                    "with a spatial node first"
                )
            per_tick[node.id] = False
    if problems:
        raise ConfigError(f"gold DSL {spec.name}: " + "; ".join(problems))


def _spatial(
    node: Spatial, x: np.ndarray, price: np.ndarray, mid: np.ndarray, tick: float
) -> np.ndarray:
    placed = price != 0
    where = price / PRICE_SCALE
    distance = np.abs(where - mid[:, None]) / tick
    weight = np.exp(-distance / node.decay) if node.decay else np.ones_like(distance)
    weight = np.where(placed, weight, 0.0)
    side = {"below": where < mid[:, None], "above": where > mid[:, None]}.get(node.side, placed)
    total = weight.sum(axis=1)
    picked = (weight * np.where(side & placed, x, 0.0)).sum(axis=1)
    out: np.ndarray = np.divide(picked, total, out=np.zeros_like(total), where=total > 0)
    return out


def _temporal(node: TemporalWindow, x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x, dtype=np.float64)
    if node.agg == "diff":
        out[1:] = x[1:] - x[:-1]
        return out
    if node.agg in ("ewm", "ema_diff"):
        alpha, y, previous = float(node.alpha or 0), 0.0, None
        for i, value in enumerate(x):
            if node.agg == "ewm":
                y = value if previous is None else y + alpha * (value - y)
            else:
                y = (1 - alpha) * y + alpha * (value - (previous if previous is not None else 0.0))
            previous = value
            out[i] = y
        return out
    for i in range(x.size):
        window = x[max(0, i - node.window + 1) : i + 1]
        if node.agg == "mean":
            out[i] = window.mean()
        elif node.agg == "sum":
            out[i] = window.sum()
        else:
            out[i] = window.std(ddof=1) if window.size > 1 else 0.0
    return out


def _norm(node: NormExpr, x: np.ndarray) -> np.ndarray:
    if node.method == "tanh":
        tanh: np.ndarray = np.tanh(x)
        return tanh
    out = np.zeros_like(x, dtype=np.float64)
    for i in range(x.size):
        if node.method == "zscore":
            history = x[max(0, i - node.window) : i]
            if history.size >= 2:
                std = float(np.std(history, ddof=1))
                if std > 0 and math.isfinite(std):
                    out[i] = (x[i] - history.mean()) / std
        else:
            window = x[max(0, i - node.window + 1) : i + 1]
            spread = window.max() - window.min()
            out[i] = (x[i] - window.min()) / spread if spread > 0 else 0.0
    return out


def _arithmetic(node: ArithmeticExpr, a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    if node.op == "add":
        result: np.ndarray = a + b
        return result
    if node.op == "sub":
        result = a - b
        return result
    if node.op == "mul":
        result = a * b
        return result
    divisor = np.broadcast_to(np.asarray(b, dtype=np.float64), np.shape(a))
    quotient: np.ndarray = np.divide(a, divisor, out=np.zeros(np.shape(a)), where=divisor != 0)
    return quotient


def execute_dsl(
    spec: GoldDslSpec, grid: dict[str, np.ndarray], cells: int, tick_size: float
) -> dict[str, np.ndarray]:
    """The spec's outputs, one value per bin of ``grid`` (silver rows of whole bins, the
    valid ones: ``grid_clean``), computed in topological order."""
    order = validate_dsl(spec)
    bins = len(grid["bin_end_ns"]) // cells
    shape = (bins, cells)
    price = grid["price"].reshape(shape)
    mid = grid["mid"].reshape(shape)[:, 0]
    values: dict[str, np.ndarray] = {}
    outputs: dict[str, np.ndarray] = {"bin_end_ns": grid["bin_end_ns"].reshape(shape)[:, 0]}
    for node in order:
        if isinstance(node, SilverRef):
            values[node.id] = grid[node.column].reshape(shape).astype(np.float64)
        elif isinstance(node, Spatial):
            values[node.id] = _spatial(node, values[node.input], price, mid, tick_size)
        elif isinstance(node, TemporalWindow):
            values[node.id] = _temporal(node, values[node.input])
        elif isinstance(node, NormExpr):
            values[node.id] = _norm(node, values[node.input])
        elif isinstance(node, ArithmeticExpr):
            second = values[node.inputs[1]] if len(node.inputs) == 2 else float(node.scalar or 0)
            values[node.id] = _arithmetic(node, values[node.inputs[0]], second)
        else:
            outputs[node.name] = values[node.input]
    if spec.state_threshold is not None and {"composite", "composite_d1"} <= set(outputs):
        composite, d1 = outputs["composite"], outputs["composite_d1"]
        sign = np.sign(composite)
        state = np.where(d1 * sign > 0, 2 * sign, sign)
        outputs["state5_code"] = np.where(
            np.abs(composite) >= spec.state_threshold, state, 0
        ).astype(np.int8)
    return outputs
