"""``tradeloop report daily`` composed: the active model's facts from the registry, the
services probed, the report built on the SQL report queries, written, and (``notify``)
sent through the configured channels."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tradeloop.bootstrap.app import App, collector_config
from tradeloop.core.errors import ConfigError
from tradeloop.ops.service_probe import probe, service_urls
from tradeloop.usecases.daily_report import (
    DailyReport,
    ModelFacts,
    ReportContext,
    Staleness,
    build_daily_report,
    write_daily_report,
)


@dataclass(frozen=True, slots=True)
class DailyOutcome:
    report: DailyReport
    written: list[Path]
    delivery: Any = None  # the notification delivery (``notify``), else None


def _services(app: App) -> dict[str, bool]:
    scorer, collector, api = app.config.scorer, collector_config(app.config), app.config.api
    return probe(
        service_urls(
            api=(api.host, api.port),
            scorer=(scorer.host, scorer.port),
            collector=(collector.host, collector.port),
        )
    )


def _accounts_capital(paper_dir: Path) -> float | None:
    """The starting cash of every paper and live account (None when there is none)."""
    from tradeloop.usecases.paper_trading import PaperAccount

    total = 0.0
    for meta in sorted(paper_dir.glob("*/account.json")):
        total += float(PaperAccount.under(paper_dir, meta.parent.name).opening_cash(None, 0))
    return total or None


def daily_report(app: App, when: date, notify: bool) -> DailyOutcome:
    """Build, write and (``notify``) send the day's ML report; ConfigError when asked to
    notify with no channel configured."""
    settings, scorer = app.config.report, app.config.scorer
    registry = app.registry()
    active = registry.resolve(scorer.model_name, "active")
    model = None
    if active is not None:
        model = ModelFacts.from_manifest(active, registry.version(active).manifest)
    context = ReportContext(
        model=model,
        config=settings,
        staleness=Staleness(scorer.stale_warn_hours, scorer.stale_max_hours),
        services=_services(app) if settings.check_services else {},
        risk_prom=app.settings.home / "metrics" / "risk.prom",
        now_ns=time.time_ns(),
        capital_usd=_accounts_capital(app.settings.paper_dir),
    )
    queries = app.report_queries()
    report = build_daily_report(queries, when, context)
    metrics = app.settings.home / "metrics" / "ml.prom"
    written = list(write_daily_report(report, app.settings.reports_dir, queries, metrics))
    if not notify:
        return DailyOutcome(report, written)
    from tradeloop.usecases.notifications import send_report

    delivery = send_report(
        app.notifier(),
        f"tradeloop ML daily {when}: {report.state}",
        written[0].read_text(),
        report.state,
    )
    if delivery is None:
        raise ConfigError("--notify: notify.channels is empty in the config")
    return DailyOutcome(report, written, delivery)
