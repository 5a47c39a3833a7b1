"""Fan fetch-and-validate out over a Dask cluster; results come back to the one writer.

When ``--workers N`` asks for a local cluster, it is started only where it can pay for
itself (``local_cluster_pays``): starting one costs about 2.5 s on 2 cores
(benchmarks/bench_ingest_workers.py), and every row is still written by this one process,
so the workers can only overlap the fetches' waiting on the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tradeloop.data.ingest import Fetcher, FetchMap, FetchResult, FetchTask

# Below this many symbols per worker a local cluster's start-up outweighs what the workers
# overlap (measured: benchmarks/bench_ingest_workers.py, docs/benchmarks.md).
MIN_SYMBOLS_PER_WORKER = 15


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """How an ingest fetches: ``workers`` local Dask processes, or in this process (0)."""

    workers: int
    note: str


def local_cluster_pays(workers: int, symbols: int, over_http: bool) -> FetchPlan:
    """The rule for ``--workers``: a local cluster only for HTTP providers (local data is
    read faster than a cluster starts) and at least ``MIN_SYMBOLS_PER_WORKER`` symbols per
    worker; otherwise the fetches run in this process, and the note says why."""
    if not over_http:
        return FetchPlan(
            0,
            f"--workers {workers}: fetching in this process (the providers read local data, "
            "faster than a local cluster starts; --cluster ADDRESS uses a running cluster)",
        )
    needed = MIN_SYMBOLS_PER_WORKER * workers
    if symbols < needed:
        return FetchPlan(
            0,
            f"--workers {workers}: fetching in this process ({symbols} symbols; a local "
            f"cluster pays from {needed}; --cluster ADDRESS uses a running cluster)",
        )
    return FetchPlan(workers, f"fetching on {workers} local Dask workers")


@dataclass(frozen=True, slots=True)
class DaskFetch:
    """A FetchMap on a cluster, and how many worker processes fetch at once."""

    map: FetchMap
    workers: int


@contextmanager
def dask_fetch_map(
    *, workers: int | None = None, address: str | None = None
) -> Iterator[DaskFetch]:
    """A FetchMap on a new local cluster of ``workers`` processes, or on ``address``."""
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

        def fetch_map(fetcher: Fetcher, tasks: list[FetchTask]) -> Iterator[FetchResult]:
            futures = client.map(fetcher, tasks, pure=False)
            for future in as_completed(futures):
                result: FetchResult = future.result()
                yield result

        running = len(client.scheduler_info().get("workers", {})) or workers or 1
        yield DaskFetch(fetch_map, running)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
