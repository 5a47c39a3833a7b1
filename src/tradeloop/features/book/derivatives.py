"""The derivative chain, one definition for every place that needs it: the silver grid's
per-tick chain of ``net`` and the gold composite's chain (train/serve parity: the offline
generation and the live scoring run this same compiled step).

Each link is an EMA of the change of the link before it, with its own weight ``alpha``:
``d1 = (1 - a1) d1' + a1 (x - x')``, ``d2 = (1 - a2) d2' + a2 (d1 - d1')``, ``d3`` likewise
(primes: the values at the previous step). ``chain[:, col]`` holds (x, d1, d2, d3).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def chain_step(chain: np.ndarray, col: int, x: float, alphas: np.ndarray) -> None:
    """Advance the chain of column ``col`` by one step to the value ``x``, in place."""
    d1 = (1 - alphas[0]) * chain[1, col] + alphas[0] * (x - chain[0, col])
    d2 = (1 - alphas[1]) * chain[2, col] + alphas[1] * (d1 - chain[1, col])
    d3 = (1 - alphas[2]) * chain[3, col] + alphas[2] * (d2 - chain[2, col])
    chain[0, col], chain[1, col], chain[2, col], chain[3, col] = x, d1, d2, d3
