"""``tradeloop report daily``: the day's ML health report, its state, and its history.

Reads the active model's matured predictions (``prediction_log`` joined with the labels of
``event_labels``), its own out-of-sample figures (manifest), data health (governance,
quality, freshness), trading (closed trades of paper and live accounts, rejections, the
risk gate's denials from ``var/metrics/risk.prom``) and the services' ``/health``; judges
the state (``monitor/ml_health.py``); writes ``var/reports/ml_daily_YYYY-MM-DD.md`` and
``ml_daily_latest.md`` with PNG plots beside them and a JSON twin (``ml_daily_latest.json``
is what ``run``/``daemon`` read to refuse ML signals under kill-switch), and stores each
classifier's figures in ``daily_ml_metrics`` (idempotent: a re-run replaces the day).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from tradeloop.core.atomic_file import write_atomic
from tradeloop.core.time import iso_from_ns
from tradeloop.monitor.drift import FeatureDrift, feature_drift
from tradeloop.monitor.ml_health import (
    KILL_SWITCH,
    HealthVerdict,
    HorizonHealth,
    ReportConfig,
    horizon_health,
    judge,
)
from tradeloop.monitor.prediction_frame import PREDICTION_SCHEMA

NS_PER_DAY = 86_400 * 1_000_000_000
LATEST_JSON = "ml_daily_latest.json"


@dataclass(frozen=True, slots=True)
class Classifier:
    target: str
    horizon: int
    tau_entry: float | None
    model_precision: float | None


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What the report needs from the active version's manifest."""

    model_version_id: str
    trained_end_ns: int
    data_start_ns: int
    classifiers: tuple[Classifier, ...]
    features: tuple[str, ...]

    @classmethod
    def from_manifest(cls, model_version_id: str, manifest: dict[str, Any]) -> ModelFacts:
        classifiers = []
        features: list[str] = []
        starts = []
        for entry in manifest.get("models", {}).values():
            features = features or list(entry.get("features", []))
            starts.append(int(entry.get("data_start_ns", 0)))
            if "thresholds" not in entry:
                continue  # a regressor: judged by the retrain gates, not here
            metrics = entry.get("metrics", {})
            classifiers.append(
                Classifier(
                    target=str(entry["target"]),
                    horizon=int(entry["horizon_bars"]),
                    tau_entry=entry["thresholds"].get("tau_entry"),
                    model_precision=metrics.get("precision_at_entry"),
                )
            )
        return cls(
            model_version_id=model_version_id,
            trained_end_ns=int(manifest.get("trained_end_ns", 0)),
            data_start_ns=min(starts) if starts else 0,
            classifiers=tuple(sorted(classifiers, key=lambda c: (c.target, c.horizon))),
            features=tuple(features),
        )


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    generated_ns: int
    verdict: HealthVerdict
    model: ModelFacts | None
    model_age_hours: float | None
    window: list[HorizonHealth]
    today: list[HorizonHealth]
    misses: pl.DataFrame
    calibration: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    drift: list[FeatureDrift]
    data: dict[str, Any]
    trading: dict[str, Any]
    services: dict[str, bool]
    history: pl.DataFrame
    equity: pl.DataFrame
    plots: dict[str, Path] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return self.verdict.state


class ReportQueries(Protocol):
    """What the daily report reads and writes (``store.sql.report_queries.SqlReportQueries``)."""

    def matured_predictions(
        self, model_version_id: str, start_ns: int, end_ns: int
    ) -> pl.DataFrame: ...

    def event_feature_matrix(
        self, names: Sequence[str], start_ns: int, end_ns: int, limit: int = 20_000
    ) -> np.ndarray: ...

    def store_daily_metrics(self, rows: list[dict[str, Any]]) -> int: ...

    def daily_metrics_history(self, since_day: str) -> pl.DataFrame: ...

    def governance_counts(self) -> dict[str, int]: ...

    def latest_quality(self) -> list[dict[str, Any]]: ...

    def last_bars(self) -> list[dict[str, Any]]: ...

    def closed_trades(self, start_ns: int, end_ns: int) -> pl.DataFrame: ...

    def account_trades_until(self, end_ns: int) -> pl.DataFrame: ...

    def rejected_orders(self, start_ns: int, end_ns: int) -> dict[str, int]: ...

    def rollback_count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Staleness:
    """Model age (hours since its training data ended) that degrades the day, and that
    stops its signals (the scorer's ``stale_warn_hours`` / ``stale_max_hours``)."""

    warn_hours: float
    max_hours: float


def day_bounds(day: date) -> tuple[int, int]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000_000, int(start.timestamp() + 86_400) * 1_000_000_000


@dataclass(frozen=True, slots=True)
class _ModelHealth:
    """How the active model did: per horizon over the window and today, its worst
    confident misses, calibration curves, feature drift and age."""

    window: list[HorizonHealth] = field(default_factory=list)
    today: list[HorizonHealth] = field(default_factory=list)
    misses: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PREDICTION_SCHEMA))
    calibration: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    drift: list[FeatureDrift] = field(default_factory=list)
    age_hours: float | None = None


def _model_health(
    queries: ReportQueries, model: ModelFacts, bounds: tuple[int, int, int], as_of: int
) -> _ModelHealth:
    """``bounds``: the window's start, the day's start and its end (ns)."""
    window_start, start_ns, end_ns = bounds
    health = _ModelHealth(age_hours=max(0.0, (as_of - model.trained_end_ns) / 3.6e12))
    misses = health.misses
    matured = queries.matured_predictions(model.model_version_id, window_start, end_ns)
    matured = matured.with_columns(hit=(pl.col("label") == pl.col("target")).cast(pl.Float64))
    for c in model.classifiers:
        rows = matured.filter((pl.col("target") == c.target) & (pl.col("horizon") == c.horizon))
        health.window.append(_health(c, rows))
        health.today.append(_health(c, rows.filter(pl.col("ts_event") >= start_ns)))
        if rows.height:
            health.calibration[f"{c.target}@{c.horizon}"] = _calibration_curve(rows)
        if c.tau_entry is not None:
            wrong = rows.filter((pl.col("score") >= c.tau_entry) & (pl.col("hit") == 0))
            misses = pl.concat([misses, wrong.select(misses.columns)])
    drift = health.drift
    if model.features:
        names = list(model.features)
        reference = queries.event_feature_matrix(names, model.data_start_ns, model.trained_end_ns)
        live = queries.event_feature_matrix(names, window_start, end_ns)
        drift = feature_drift(names, reference, live)
    misses = misses.sort("score", descending=True).head(10)
    return dataclasses.replace(health, misses=misses, drift=drift)


def _trading(
    queries: ReportQueries, start_ns: int, end_ns: int, risk_prom: Path | None
) -> dict[str, Any]:
    trades_today = queries.closed_trades(start_ns, end_ns)
    return {
        "closed_trades": trades_today.height,
        "realized_pnl": float(trades_today["pnl"].sum()) if trades_today.height else 0.0,
        "accounts": sorted(set(trades_today["run_id"].to_list())),
        "rejected_orders": queries.rejected_orders(start_ns, end_ns),
        "risk_denials": risk_denials(risk_prom),
    }


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What the day is judged against beside the stores: the active model, the report
    rules, the staleness limits, which services answer, the risk metrics file, now."""

    model: ModelFacts | None
    config: ReportConfig
    staleness: Staleness
    services: dict[str, bool]
    risk_prom: Path | None
    now_ns: int
    # the accounts' starting cash: drawdown in % of capital (None: shown in USD only)
    capital_usd: float | None = None


def build_daily_report(queries: ReportQueries, day: date, context: ReportContext) -> DailyReport:
    """Gather and judge one day (UTC); nothing is written here."""
    model, config, now_ns = context.model, context.config, context.now_ns
    start_ns, end_ns = day_bounds(day)
    window_start = end_ns - config.window_days * NS_PER_DAY
    as_of = min(now_ns, end_ns)
    health = (
        _model_health(queries, model, (window_start, start_ns, end_ns), as_of)
        if model is not None
        else _ModelHealth()
    )
    verdict = judge(
        health.window,
        health.age_hours,
        context.services,
        config,
        stale_warn_hours=context.staleness.warn_hours,
        stale_max_hours=context.staleness.max_hours,
    )
    return DailyReport(
        day=day,
        generated_ns=now_ns,
        verdict=verdict,
        model=model,
        model_age_hours=health.age_hours,
        window=health.window,
        today=health.today,
        misses=health.misses,
        calibration=health.calibration,
        drift=health.drift,
        data=_data_health(queries, as_of),
        trading=_trading(queries, start_ns, end_ns, context.risk_prom),
        services=context.services,
        history=queries.daily_metrics_history((day - timedelta(days=90)).isoformat()),
        equity=_equity_curve(queries.account_trades_until(end_ns), context.capital_usd),
    )


def _health(c: Classifier, rows: pl.DataFrame) -> HorizonHealth:
    return horizon_health(
        c.target,
        c.horizon,
        rows["hit"].to_numpy(),
        rows["score"].to_numpy(),
        c.tau_entry,
        c.model_precision,
    )


def _calibration_curve(
    rows: pl.DataFrame, bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = rows["score"].to_numpy()
    y = rows["hit"].to_numpy()
    index = np.minimum((p * bins).astype(int), bins - 1)
    used = np.unique(index)
    mean_p = np.array([p[index == b].mean() for b in used])
    rate = np.array([y[index == b].mean() for b in used])
    count = np.array([(index == b).sum() for b in used])
    return mean_p, rate, count


def _equity_curve(closed: pl.DataFrame, capital_usd: float | None) -> pl.DataFrame:
    """Cumulative realized PnL of every paper and live account, its drawdown from the
    peak in USD and, with the accounts' capital, in % of the equity at that peak."""
    schema = {"ts": pl.Int64, "pnl": pl.Float64, "drawdown": pl.Float64, "drawdown_pct": pl.Float64}
    if closed.is_empty():
        return pl.DataFrame(schema=schema)
    curve = closed.sort("ts_exit").select(
        pl.col("ts_exit").alias("ts"), pl.col("pnl").cum_sum().alias("pnl")
    )
    peak = pl.col("pnl").cum_max().clip(0, None)
    at_peak = (pl.lit(capital_usd) + peak) if capital_usd else pl.lit(None, dtype=pl.Float64)
    return curve.with_columns(
        drawdown=pl.col("pnl") - peak,
        drawdown_pct=100.0 * (pl.col("pnl") - peak) / at_peak,
    )


def _max_drawdown_line(equity: pl.DataFrame) -> str:
    if equity.is_empty():
        return "- max drawdown of realized PnL: no closed trades yet"
    usd = min(equity["drawdown"].to_list())
    if equity["drawdown_pct"].null_count() == 0:
        pct = min(equity["drawdown_pct"].to_list())
        return f"- max drawdown of realized PnL: {pct:.2f} % ({usd:+,.2f} USD)"
    return f"- max drawdown of realized PnL: {usd:+,.2f} USD (the accounts' capital is unknown)"


def risk_denials(path: Path | None) -> dict[str, int]:
    """Denials by reason code from the daemon's risk.prom (cumulative since it started)."""
    if path is None or not path.exists():
        return {}
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[str, int] = {}
    for family in text_string_to_metric_families(path.read_text()):
        if family.name != "tradeloop_risk_denials":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                reason = sample.labels.get("reason", "?")
                counts[reason] = counts.get(reason, 0) + int(sample.value)
    return counts


def _data_health(queries: ReportQueries, as_of_ns: int) -> dict[str, Any]:
    quality = queries.latest_quality()
    scores = [row["score"] for row in quality]
    bars = queries.last_bars()
    stale = stale_series(bars, as_of_ns)
    return {
        "governance": queries.governance_counts(),
        "quality_symbols": len(quality),
        "quality_rejected": sum(1 for row in quality if not row["accepted"]),
        "quality_mean": float(np.mean(scores)) if scores else None,
        "series": len(bars),
        "stale_series": stale,
    }


def stale_series(bars: list[dict[str, Any]], as_of_ns: int) -> list[str]:
    """Series whose newest bar is older than 4 days (daily bars: a long weekend plus a
    holiday) or 300 bar lengths (intraday): a collector or ingestion has stopped."""
    return [
        f"{row['symbol']} ({row['bar_interval_sec']} s): last bar "
        f"{(as_of_ns - row['last_ts']) / NS_PER_DAY:.1f} days old"
        for row in bars
        if as_of_ns - row["last_ts"]
        > max(4 * NS_PER_DAY, 300 * row["bar_interval_sec"] * 1_000_000_000)
    ]


# -- writing ------------------------------------------------------------------------------


def write_daily_report(
    report: DailyReport,
    reports_dir: Path,
    queries: ReportQueries,
    metrics_path: Path | None = None,
) -> list[Path]:
    """The Markdown, its JSON twin, the plots, the ``latest`` copies, the day's rows in
    ``daily_ml_metrics`` and (``metrics_path``) its Prometheus figures. Every file is
    written atomically."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stem = f"ml_daily_{report.day.isoformat()}"
    plots = _plots(report, reports_dir, stem)
    report = dataclasses.replace(report, plots=plots)
    markdown = render_markdown(report)
    payload = json.dumps(report_json(report), indent=2, sort_keys=True)
    written = [reports_dir / f"{stem}.md", reports_dir / f"{stem}.json"]
    write_atomic(written[0], markdown)
    write_atomic(written[1], payload)
    write_atomic(reports_dir / "ml_daily_latest.md", markdown)
    write_atomic(reports_dir / LATEST_JSON, payload)
    if report.model is not None:
        rows = [
            {
                "day": report.day.isoformat(),
                "model_version_id": report.model.model_version_id,
                "target": h.target,
                "horizon": h.horizon,
                "samples": h.samples,
                "precision": h.precision,
                "auc": h.auc,
                "brier": h.brier,
                "calibration_gap": h.calibration_gap,
                "health_state": report.state,
                "ts_computed": report.generated_ns,
            }
            for h in report.window
        ]
        queries.store_daily_metrics(rows)
    if metrics_path is not None:
        from tradeloop.monitor.ml_metrics import write_ml_metrics

        write_ml_metrics(
            metrics_path,
            state=report.state,
            window=report.window,
            drift=report.drift,
            model_age_hours=report.model_age_hours,
            rollbacks=queries.rollback_count(),
        )
    return [*written, *plots.values()]


def report_json(report: DailyReport) -> dict[str, Any]:
    def horizon(h: HorizonHealth) -> dict[str, Any]:
        return {
            "target": h.target,
            "horizon": h.horizon,
            "samples": h.samples,
            "signals": h.signals,
            "precision": h.precision,
            "model_precision": h.model_precision,
            "auc": h.auc,
            "brier": h.brier,
            "ece": h.ece,
            "calibration_gap": h.calibration_gap,
        }

    return {
        "day": report.day.isoformat(),
        "generated": iso_from_ns(report.generated_ns),
        "generated_ns": report.generated_ns,
        "state": report.state,
        "reasons": list(report.verdict.reasons),
        "notes": list(report.verdict.notes),
        "model_version_id": report.model.model_version_id if report.model else None,
        "model_age_hours": report.model_age_hours,
        "window": [horizon(h) for h in report.window],
        "today": [horizon(h) for h in report.today],
        "drift": [{"feature": d.feature, "psi": d.psi, "ks": d.ks} for d in report.drift],
        "data": report.data,
        "trading": report.trading,
        "services": report.services,
        "plots": {k: v.name for k, v in report.plots.items()},
    }


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def render_markdown(report: DailyReport) -> str:
    lines = [
        f"# ML daily report {report.day.isoformat()}",
        "",
        f"**State: {report.state.upper()}** (generated {iso_from_ns(report.generated_ns)})",
        "",
        *[f"- {reason}" for reason in report.verdict.reasons],
        "",
        "## What to do",
        "",
        *[f"- {note}" for note in report.verdict.notes],
        "",
        "## Model health",
        "",
        *_model_section(report),
        *_operations_section(report),
    ]
    if report.plots:
        lines += ["## Plots", ""]
        lines += [f"![{title}]({path.name})" for title, path in report.plots.items()]
        lines.append("")
    return "\n".join(lines)


def _model_section(report: DailyReport) -> list[str]:
    if report.model is None:
        return ["No active model.", ""]
    lines = [
        f"Active version `{report.model.model_version_id}`, trained on data ending "
        f"{iso_from_ns(report.model.trained_end_ns)} ({report.model_age_hours:.0f} h ago).",
        "",
        "| classifier | matured (window) | today | signals | precision | model's OOS "
        "| AUC | Brier | ECE | calibration gap |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for h, d in zip(report.window, report.today, strict=True):
        lines.append(
            f"| {h.target}@{h.horizon} | {h.samples} | {d.samples} | {h.signals} "
            f"| {_fmt(h.precision)} | {_fmt(h.model_precision)} | {_fmt(h.auc)} "
            f"| {_fmt(h.brier)} | {_fmt(h.ece)} | {_fmt(h.calibration_gap, '+.3f')} |"
        )
    lines.append("")
    if not report.misses.is_empty():
        lines += [
            "### Highest-confidence misses",
            "",
            "| event | symbol | level | time | classifier | P | outcome |",
            "|---|---|---|---|---|---:|---|",
        ]
        for row in report.misses.iter_rows(named=True):
            lines.append(
                f"| {row['event_id']} | {row['symbol']} | {row['level_type']} "
                f"| {iso_from_ns(row['ts_event'])} | {row['target']}@{row['horizon']} "
                f"| {row['score']:.3f} | {row['label']} |"
            )
        lines.append("")
    shifted = [d for d in report.drift if d.psi is not None]
    if shifted:
        lines += [
            "### Feature drift (training window vs report window)",
            "",
            "| feature | PSI | KS |",
            "|---|---:|---:|",
        ]
        for shift in sorted(shifted, key=lambda d: -(d.psi or 0))[:15]:
            lines.append(f"| {shift.feature} | {_fmt(shift.psi)} | {_fmt(shift.ks)} |")
        lines.append("")
    return lines


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _operations_section(report: DailyReport) -> list[str]:
    """Data health, trading and services."""
    data, trading = report.data, report.trading
    services = [
        f"- {name}: {'reachable' if up else 'UNREACHABLE'}"
        for name, up in sorted(report.services.items())
    ]
    return [
        "## Data health",
        "",
        "- symbol states: " + _counts(dict(sorted(data["governance"].items()))),
        f"- quality: {data['quality_symbols']} symbols scored, {data['quality_rejected']} "
        f"rejected, mean score {_fmt(data['quality_mean'], '.2f')}",
        f"- freshness: {data['series']} series, {len(data['stale_series'])} stale",
        *[f"  - {line}" for line in data["stale_series"][:20]],
        "",
        "## Trading",
        "",
        f"- closed trades today: {trading['closed_trades']}, realized PnL "
        f"{trading['realized_pnl']:+,.2f} USD",
        _max_drawdown_line(report.equity),
        "- orders rejected today: " + _counts(trading["rejected_orders"]),
        "- risk denials (daemon, since start): " + _counts(trading["risk_denials"]),
        "",
        "## Services",
        "",
        *(services or ["- not checked"]),
        "",
    ]


def _plots(report: DailyReport, folder: Path, stem: str) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: dict[str, Path] = {}
    plots = (
        ("calibration", "calibration curve", _calibration_plot),
        ("precision", "precision by horizon over time", _precision_plot),
        ("equity", "equity and drawdown", _equity_plot),
        ("drift", "feature drift", _drift_plot),
    )
    # 1200 px wide at 100 dpi, text readable at 100 % zoom
    with plt.rc_context({"font.size": 13, "axes.titlesize": 15, "legend.fontsize": 11}):
        for name, title, draw in plots:
            figure = draw(report, plt)
            if figure is None:
                continue
            path = folder / f"{stem}_{name}.png"
            figure.tight_layout()
            figure.savefig(path, dpi=100)
            plt.close(figure)
            made[title] = path
    return made


def _calibration_plot(report: DailyReport, plt: Any) -> Any:
    if not report.calibration:
        return None
    figure, axis = plt.subplots(figsize=(12, 8))
    axis.plot(
        [0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated"
    )
    for name, (mean_p, rate, _) in report.calibration.items():
        axis.plot(mean_p, rate, marker="o", label=name)
    axis.set(
        xlabel="mean predicted probability",
        ylabel="observed frequency",
        title="calibration of each classifier (report window)",
    )
    axis.legend()
    return figure


def _precision_plot(report: DailyReport, plt: Any) -> Any:
    current = pl.DataFrame(
        [
            {
                "day": report.day.isoformat(),
                "target": h.target,
                "horizon": h.horizon,
                "precision": h.precision,
            }
            for h in report.window
        ],
        schema={
            "day": pl.String,
            "target": pl.String,
            "horizon": pl.Int64,
            "precision": pl.Float64,
        },
    )
    earlier = report.history.filter(pl.col("day") != report.day.isoformat())
    history = pl.concat([earlier.select(current.columns), current]).filter(
        pl.col("precision").is_not_null()
    )
    if history.is_empty():
        return None
    figure, axis = plt.subplots(figsize=(12, 6))
    for (target, horizon), rows in history.sort("day").group_by(
        ["target", "horizon"], maintain_order=True
    ):
        axis.plot(
            rows["day"].to_list(),
            rows["precision"].to_list(),
            marker=".",
            label=f"{target}@{horizon}",
        )
    axis.set(
        ylabel="precision of entry signals", title="precision by classifier and horizon, by day"
    )
    axis.tick_params(axis="x", labelrotation=45, labelsize=10)
    axis.legend()
    return figure


def _equity_plot(report: DailyReport, plt: Any) -> Any:
    if report.equity.is_empty():
        return None
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    when = [datetime.fromtimestamp(ts / 1e9, UTC) for ts in report.equity["ts"].to_list()]
    top.plot(when, report.equity["pnl"].to_list())
    top.set(ylabel="USD", title="paper and live accounts: cumulative realized PnL")
    percent = report.equity["drawdown_pct"].null_count() == 0
    drawdown = report.equity["drawdown_pct" if percent else "drawdown"].to_list()
    bottom.fill_between(when, drawdown, 0, color="tab:red")
    if percent:
        bottom.set(ylabel="% of equity", title="drawdown from the peak, % of the accounts' equity")
    else:
        bottom.set(ylabel="USD", title="drawdown of realized PnL from its peak (capital unknown)")
    return figure


def _drift_plot(report: DailyReport, plt: Any) -> Any:
    drifted = [d for d in report.drift if d.psi is not None]
    if not drifted:
        return None
    figure, axis = plt.subplots(figsize=(12, max(5.0, 0.4 * len(drifted))))
    axis.barh([d.feature for d in drifted], [d.psi or 0.0 for d in drifted])
    axis.axvline(0.1, color="orange", linewidth=1.5, label="PSI 0.1: watch")
    axis.axvline(0.25, color="red", linewidth=1.5, label="PSI 0.25: shifted")
    axis.set(
        xlabel="population stability index (training window vs report window)",
        title="feature drift",
    )
    axis.tick_params(axis="y", labelsize=10)
    axis.legend()
    return figure


# -- reading the state --------------------------------------------------------------------


def latest_state(reports_dir: Path) -> tuple[str, str] | None:
    """(state, the report's day and first reason) of the latest report; None when there is
    none. A report that cannot be read counts as kill-switch: better no ML trading than ML
    trading on a state nobody can see."""
    path = reports_dir / LATEST_JSON
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text())
        state = str(payload["state"])
        reasons = payload.get("reasons") or [""]
        return state, f"report {payload['day']}: {reasons[0]}"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return KILL_SWITCH, f"{path} is unreadable ({exc})"
