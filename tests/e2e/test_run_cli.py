"""`tradeloop run --mode backtest` as a user runs it, on the bundled real history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_run_when_bars_stored_then_metrics_report_and_plot(tmp_path: Path) -> None:
    missing = _run(tmp_path, "run", "--tickers", "^GSPC")
    assert missing.returncode == 2
    assert "ingest them first" in missing.stderr
    assert _run(tmp_path, "demo", "--quick").returncode in (0, 1)  # stores ^GSPC daily bars

    result = _run(
        tmp_path,
        "run",
        "--tickers",
        "^GSPC",
        "--start",
        "2014-01-01",
        "--end",
        "2018-06-29",
        "--capital",
        "50000",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    strategy = summary["metrics"]["strategy"]
    assert {
        "total_return",
        "sharpe",
        "sortino",
        "max_drawdown",
        "win_rate",
        "avg_trade_pnl",
        "exposure",
        "turnover",
        "trades",
    } <= set(strategy)
    assert summary["start"].startswith("2014-01-02")
    assert summary["end"].startswith("2018-06-29")
    final = float(summary["final_equity"])
    assert abs(strategy["total_return"] - (final / 50_000 - 1)) < 1e-9
    assert 0 < strategy["exposure"] < 1
    assert summary["metrics"]["buy and hold"]["max_drawdown"] < 0
    for path in summary["report"].values():
        assert Path(path).stat().st_size > 500

    paper = _run(tmp_path, "run", "--mode", "paper", "--tickers", "^GSPC")
    assert paper.returncode == 2
    assert "only backtest" in paper.stderr
    unknown = _run(tmp_path, "run", "--tickers", "^GSPC", "--strategy", "magic")
    assert unknown.returncode == 2
    assert "sma_cross" in unknown.stderr
