"""Sweeps on Dask: the runner's points mapped over a local cluster of worker processes
(``--workers N``) or an existing scheduler (``--cluster ADDRESS``). The points' context
(bins, gold, specs) is sent to each worker once; points go in batches, so a 1,000-point
sweep is a few dozen tasks, not a thousand; results come back in the points' order, equal
to the in-process run's (each point is a pure function of the context and its params).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tradeloop.research.runner import Executor, PointContext, RunPoint, evaluate_point


def _batch(context: PointContext, points: Sequence[RunPoint]) -> list[dict[str, Any]]:
    signals: dict[str, Any] = {}
    return [evaluate_point(context, point, signals) for point in points]


@contextmanager
def dask_executor(*, workers: int | None = None, address: str | None = None) -> Iterator[Executor]:
    """An executor on a new local cluster of ``workers`` processes, or on ``address``."""
    from distributed import Client, LocalCluster, as_completed

    if (workers is None) == (address is None):
        raise ValueError("give exactly one of workers or address")
    cluster = (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
        if workers is not None
        else None
    )
    client = Client(cluster if cluster is not None else address, timeout="30s")
    try:

        def run(
            context: PointContext, points: Sequence[RunPoint], on_point: Callable[[int], None]
        ) -> list[dict[str, Any]]:
            running = len(client.scheduler_info().get("workers", {})) or 1
            size = max(1, len(points) // (4 * running))
            batches = [list(points[i : i + size]) for i in range(0, len(points), size)]
            shared = client.scatter(context, broadcast=True)
            futures = client.map(_batch, [shared] * len(batches), batches, pure=False)
            order = {future.key: index for index, future in enumerate(futures)}
            done: dict[int, list[dict[str, Any]]] = {}
            for future in as_completed(futures):
                done[order[future.key]] = future.result()
                on_point(len(done[order[future.key]]))
            return [score for index in range(len(batches)) for score in done[index]]

        yield run
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
