"""Fan fetch-and-validate out over a Dask cluster; results come back to the one writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tradeloop.data.ingest import Fetcher, FetchMap, FetchResult, FetchTask


@contextmanager
def dask_fetch_map(*, workers: int | None = None, address: str | None = None) -> Iterator[FetchMap]:
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

        yield fetch_map
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
