"""The backtest report: Markdown with an equity-curve PNG, strategy against buy-and-hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import PercentFormatter

from tradeloop.core.time import iso_from_ns


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A curve the strategy is compared with, labelled with its exposure."""

    label: str  # e.g. "buy and hold, 20 % of equity"
    equity: np.ndarray
    stats: dict[str, float]


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything the report shows; computed elsewhere, only rendered here."""

    title: str
    symbol: str
    ts: np.ndarray
    strategy_label: str  # with its exposure, e.g. "strategy (at most 20 % of equity)"
    strategy_equity: np.ndarray
    strategy_stats: dict[str, float]
    benchmarks: tuple[Benchmark, ...]
    model: dict[str, Any]
    notes: tuple[str, ...] = ()


def _plot(data: ReportInput, path: Path) -> None:
    dates = data.ts.astype("datetime64[ns]")
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    curves = [(data.strategy_label, data.strategy_equity, 1.2)]
    curves += [(b.label, b.equity, 0.9) for b in data.benchmarks]
    for label, equity, width in curves:
        top.plot(dates, equity, label=label, linewidth=width)
        bottom.plot(dates, equity / np.maximum.accumulate(equity) - 1, linewidth=0.9)
    top.set_ylabel("equity (USD)")
    top.set_title(data.title)
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    bottom.set_ylabel("drawdown (%)")
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0))  # % as in the metrics table
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)  # 1200 px wide
    plt.close(figure)


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def write_backtest_report(data: ReportInput, directory: Path, stem: str) -> Path:
    """Write ``<stem>.md`` and ``<stem>_equity.png`` under ``directory``; return the .md."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{stem}_equity.png"
    _plot(data, png)
    s, others = data.strategy_stats, [b.stats for b in data.benchmarks]
    rows = [
        ("Total return", _pct(s["total_return"]), *[_pct(b["total_return"]) for b in others]),
        ("Sharpe (annualised)", f"{s['sharpe']:.2f}", *[f"{b['sharpe']:.2f}" for b in others]),
        ("Max drawdown", _pct(s["max_drawdown"]), *[_pct(b["max_drawdown"]) for b in others]),
        ("Win rate", _pct(s["win_rate"]), *["n/a" for _ in others]),
        ("Trades", f"{s['trades']:.0f}", *["1" for _ in others]),
    ]
    header = " | ".join([data.strategy_label, *[b.label for b in data.benchmarks]])
    lines = [
        f"# {data.title}",
        "",
        f"Symbol: `{data.symbol}` · period {iso_from_ns(int(data.ts[0]))[:10]} to "
        f"{iso_from_ns(int(data.ts[-1]))[:10]} (out-of-sample walk-forward predictions only)",
        "",
        f"| metric | {header} |",
        "|---|" + "---:|" * (1 + len(data.benchmarks)),
        *["| " + " | ".join(row) + " |" for row in rows],
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
