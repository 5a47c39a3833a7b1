"""``ingest --workers N`` starts a local Dask cluster only where it pays for itself: HTTP
providers and enough symbols per worker (benchmarks/bench_ingest_workers.py measured the
break-even); otherwise the fetches run in the ingesting process and the note says why."""

from __future__ import annotations

import pytest

from tradeloop.ops.dask_fetch import MIN_SYMBOLS_PER_WORKER, local_cluster_pays


@pytest.mark.parametrize("symbols", [1, 7, 10_000])
def test_rule_when_providers_read_local_data_then_never_a_local_cluster(symbols: int) -> None:
    plan = local_cluster_pays(2, symbols, over_http=False)
    assert plan.workers == 0
    assert "local data" in plan.note
    assert "--cluster" in plan.note


def test_rule_when_http_and_too_few_symbols_per_worker_then_in_process_naming_the_threshold() -> (
    None
):
    below = local_cluster_pays(2, 2 * MIN_SYMBOLS_PER_WORKER - 1, over_http=True)
    assert below.workers == 0
    assert f"pays from {2 * MIN_SYMBOLS_PER_WORKER}" in below.note


def test_rule_when_http_and_enough_symbols_then_the_workers_asked_for() -> None:
    assert local_cluster_pays(2, 2 * MIN_SYMBOLS_PER_WORKER, over_http=True).workers == 2
    assert local_cluster_pays(4, 4 * MIN_SYMBOLS_PER_WORKER - 1, over_http=True).workers == 0
