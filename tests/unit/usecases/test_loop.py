"""The whole loop wired with fakes: point in time, quarantine, kill switch."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tradeloop.adapters.bundled import BUNDLED_DATASETS, BundledProvider
from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.errors import DataError
from tradeloop.core.time import parse_ns
from tradeloop.data.ports import Provider
from tradeloop.domain.enums import SymbolState
from tradeloop.ops.config import LoopConfig
from tradeloop.registry.registry import ModelRegistry
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing import InMemoryBarStore, InMemoryIngestAudit, InMemoryModelRecords
from tradeloop.usecases.loop import LoopDeps, LoopSettings, run_loop


def _deps(tmp_path: Path, provider: Provider | None = None) -> LoopDeps:
    return LoopDeps(
        provider=provider or BundledProvider(),
        bars=InMemoryBarStore(),
        audit=InMemoryIngestAudit(),
        registry=ModelRegistry(tmp_path / "models", InMemoryModelRecords()),
        kill_switch=KillSwitch(tmp_path / "KILL_SWITCH"),
        reports_dir=tmp_path / "reports",
    )


def test_loop_when_as_of_given_then_nothing_after_it_is_used(tmp_path: Path) -> None:
    as_of = "2012-06-29"
    deps = _deps(tmp_path)
    result = run_loop(deps, LoopSettings(loop=LoopConfig(as_of=as_of)))
    limit = parse_ns(as_of)
    assert result.as_of_ns == limit
    assert isinstance(deps.bars, InMemoryBarStore)
    assert deps.bars.frame["ts"].max() <= limit  # type: ignore[operator]
    manifest = json.loads((result.model_path / "manifest.json").read_text())
    assert manifest["data_end"] <= "2012-06-29T00:00:00Z"
    assert manifest["as_of"] == "2012-06-29T00:00:00Z"
    assert "2012-06-" in result.report_path.read_text()


def test_loop_when_one_dataset_corrupt_then_it_is_quarantined_and_rest_runs(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "nasdaq.csv.gz"
    source = BUNDLED_DATASETS["^IXIC"].default_path()
    broken.write_bytes(source.read_bytes()[:5000])
    deps = _deps(tmp_path, BundledProvider({"^IXIC": broken}))
    result = run_loop(deps, LoopSettings(), quick=True)
    audit = deps.audit
    assert isinstance(audit, InMemoryIngestAudit)
    assert audit.governance == {"^GSPC": SymbolState.ACTIVE, "^IXIC": SymbolState.QUARANTINED}
    (run,) = audit.runs.values()
    assert run["status"] == "PARTIAL"
    assert set(result.quality) == {"^GSPC"}
    assert deps.bars.load_bars("^IXIC", 86_400).is_empty()


def test_loop_when_traded_symbol_corrupt_then_data_error_and_no_model(tmp_path: Path) -> None:
    broken = tmp_path / "sp500.csv.gz"
    broken.write_bytes(b"not gzip at all")
    deps = _deps(tmp_path, BundledProvider({"^GSPC": broken}))
    with pytest.raises(DataError, match=r"\^GSPC.*quarantined"):
        run_loop(deps, LoopSettings(), quick=True)
    assert not (tmp_path / "models").exists()


def test_loop_when_kill_switch_engaged_then_no_trade_happens(tmp_path: Path) -> None:
    deps = _deps(tmp_path)
    deps.kill_switch.engage("test halt")
    result = run_loop(deps, LoopSettings(), quick=True)
    assert result.strategy["trades"] == 0
    assert result.strategy["total_return"] == 0.0
    report = result.report_path.read_text()
    assert "denied by risk checks" in report


def test_loop_when_synthetic_provider_then_any_symbols_work(tmp_path: Path) -> None:
    deps = _deps(tmp_path, SyntheticProvider(seed=5))
    config = LoopConfig(
        provider="synthetic", symbols=("AAA", "BBB"), as_of="2020-12-31", history_start="2005-01-01"
    )
    result = run_loop(deps, LoopSettings(loop=config))
    assert result.symbols == ("AAA", "BBB")
    assert pl.Series(list(result.quality.values())).min() >= 0.6
