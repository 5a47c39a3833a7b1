"""Processes that fetch at once (Dask workers) share each HTTP provider's rate limit: N
workers each get 1/N of it, so that together they never exceed what the provider allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.bootstrap.app import ProviderSpec, build_providers
from tradeloop.data.config import IngestConfig
from tradeloop.settings import ProviderCredentials


def _limit(spec: ProviderSpec) -> int:
    yahoo = build_providers(spec)["yahoo"]
    return int(yahoo._client._limiter.per_minute)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("processes", "each"), [(1, 60), (2, 30), (4, 15), (100, 1)])
def test_rate_limit_when_fetching_in_n_processes_then_each_gets_its_share(
    tmp_path: Path, processes: int, each: int
) -> None:
    spec = ProviderSpec(
        ingest=IngestConfig(),  # yahoo: 60 requests a minute
        synthetic_seed=7,
        credentials=ProviderCredentials(_env_file=None),  # type: ignore[call-arg]
        raw_root=str(tmp_path / "raw"),
        run_id=None,
        processes=processes,
    )
    assert IngestConfig().capabilities["yahoo"].rate_limit_per_minute == 60
    assert _limit(spec) == each
