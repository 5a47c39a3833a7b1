"""A strategy run's report: metrics table (Markdown + JSON) and an equity/drawdown PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import PercentFormatter

METRICS = (
    ("total_return", "Total return", "pct"),
    ("sharpe", "Sharpe (annualised)", "num"),
    ("sortino", "Sortino (annualised)", "num"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("win_rate", "Win rate", "pct"),
    ("trades", "Trades", "int"),
    ("avg_trade_pnl", "Avg net profit per trade (USD)", "num"),
    ("exposure", "Exposure (share of bars in the market)", "pct"),
    ("turnover", "Turnover (traded value / avg equity)", "num"),
)


def _format(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "int":
        return f"{value:.0f}"
    return f"{value:.2f}"


def metric_rows(columns: dict[str, dict[str, float]]) -> list[list[str]]:
    """[metric name, value per column...] for every metric, formatted."""
    return [
        [label, *(_format(col.get(key), kind) for col in columns.values())]
        for key, label, kind in METRICS
    ]


def _plot(ts: np.ndarray, curves: dict[str, np.ndarray], title: str, path: Path) -> None:
    dates = ts.astype("datetime64[ns]")
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    for label, curve in curves.items():
        top.plot(dates, curve, label=label, linewidth=1.1)
        bottom.plot(dates, curve / np.maximum.accumulate(curve) - 1.0, label=label, linewidth=0.9)
    top.set_title(title)
    top.set_ylabel("equity (USD)")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.set_ylabel("drawdown (%)")
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0))  # % as in the metrics table
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)  # 1200 px wide
    plt.close(figure)


def write_run_report(
    directory: Path,
    stem: str,
    title: str,
    ts: np.ndarray,
    columns: dict[str, dict[str, float]],
    curves: dict[str, np.ndarray],
    details: dict[str, Any],
    daily: list[tuple[str, float]] | None = None,
) -> dict[str, Path]:
    """``<stem>.md``, ``<stem>.json`` and ``<stem>_equity.png`` under ``directory``; with
    ``daily``, the daily PnL (the last 30 days in Markdown, every day in JSON)."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{stem}_equity.png"
    _plot(ts, curves, title, png)
    header = "| metric | " + " | ".join(columns) + " |"
    lines = [f"# {title}", "", header, "|---|" + "---:|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in metric_rows(columns)]
    lines += ["", f"![equity and drawdown]({png.name})", ""]
    lines += [f"- {key}: `{value}`" for key, value in details.items()]
    if daily:
        lines += ["", "## Daily PnL (last 30 days)", "", "| date | PnL |", "|---|---:|"]
        lines += [f"| {day} | {pnl:,.2f} |" for day, pnl in daily[-30:]]
    markdown = directory / f"{stem}.md"
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    payload = directory / f"{stem}.json"
    payload.write_text(
        json.dumps(
            {"title": title, "metrics": columns, **details, "daily_pnl": dict(daily or [])},
            indent=2,
            default=str,
        )
    )
    return {"markdown": markdown, "json": payload, "png": png}
