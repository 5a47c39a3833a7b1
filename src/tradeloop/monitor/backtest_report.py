"""The backtest report: Markdown with an equity-curve PNG, strategy against buy-and-hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from tradeloop.core.time import iso_from_ns


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything the report shows; computed elsewhere, only rendered here."""

    title: str
    symbol: str
    ts: np.ndarray
    strategy_equity: np.ndarray
    benchmark_equity: np.ndarray
    strategy_stats: dict[str, float]
    benchmark_stats: dict[str, float]
    model: dict[str, Any]
    notes: tuple[str, ...] = ()


def _plot(data: ReportInput, path: Path) -> None:
    dates = data.ts.astype("datetime64[ns]")
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot(dates, data.strategy_equity, label="strategy (active model)", linewidth=1.2)
    top.plot(dates, data.benchmark_equity, label="buy and hold", linewidth=1.0, alpha=0.8)
    top.set_ylabel("equity (USD)")
    top.set_title(data.title)
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    for series, label in ((data.strategy_equity, "strategy"), (data.benchmark_equity, "b&h")):
        bottom.plot(dates, series / np.maximum.accumulate(series) - 1, label=label, linewidth=0.9)
    bottom.set_ylabel("drawdown")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def write_backtest_report(data: ReportInput, directory: Path, stem: str) -> Path:
    """Write ``<stem>.md`` and ``<stem>_equity.png`` under ``directory``; return the .md."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{stem}_equity.png"
    _plot(data, png)
    s, b = data.strategy_stats, data.benchmark_stats
    rows = [
        ("Total return", _pct(s["total_return"]), _pct(b["total_return"])),
        ("Sharpe (annualised)", f"{s['sharpe']:.2f}", f"{b['sharpe']:.2f}"),
        ("Max drawdown", _pct(s["max_drawdown"]), _pct(b["max_drawdown"])),
        ("Win rate", _pct(s["win_rate"]), "n/a"),
        ("Trades", f"{s['trades']:.0f}", "1"),
    ]
    lines = [
        f"# {data.title}",
        "",
        f"Symbol: `{data.symbol}` · period {iso_from_ns(int(data.ts[0]))[:10]} to "
        f"{iso_from_ns(int(data.ts[-1]))[:10]} (out-of-sample walk-forward predictions only)",
        "",
        "| metric | strategy | buy and hold |",
        "|---|---:|---:|",
        *[f"| {name} | {ours} | {theirs} |" for name, ours, theirs in rows],
        "",
        f"![equity curve]({png.name})",
        "",
        "## Model",
        "",
        *[f"- {key}: `{value}`" for key, value in data.model.items()],
    ]
    if data.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in data.notes]]
    path = directory / f"{stem}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
