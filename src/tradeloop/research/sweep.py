"""Sweep expansion: an ExperimentSpec's sweep as its points, in a fixed order.

A grid sweep is the product of the listed values (keys sorted, values in the order
given); a random sweep draws ``samples`` points, each parameter uniformly in its range (or
from its list), with NumPy's generator seeded by ``seed``: the same spec gives the same
points everywhere (a Dask worker, another machine).
"""

from __future__ import annotations

import itertools

import numpy as np

from tradeloop.research.specs import RangeSpec, SweepSpec


def sweep_points(sweep: SweepSpec) -> list[dict[str, float]]:
    keys = sorted(sweep.params)
    if not keys:
        return [{}]
    if sweep.mode == "grid":
        lists = [v for k in keys if isinstance(v := sweep.params[k], list)]
        return [
            dict(zip(keys, (float(v) for v in values), strict=True))
            for values in itertools.product(*lists)
        ]
    rng = np.random.default_rng(sweep.seed)
    points = []
    for _ in range(sweep.samples):
        point = {}
        for key in keys:
            values = sweep.params[key]
            if isinstance(values, RangeSpec):
                if values.integer:
                    point[key] = float(rng.integers(int(values.low), int(values.high) + 1))
                else:
                    point[key] = float(rng.uniform(values.low, values.high))
            else:
                point[key] = float(values[int(rng.integers(len(values)))])
        points.append(point)
    return points
