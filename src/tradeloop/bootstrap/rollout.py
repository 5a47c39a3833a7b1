"""Graduated exposure wired to this installation: the mode store, and the evidence the
mode gates read (agent manifests in the registry, the paper account's journal and trades
table, var/logs, the live venue, the scorer's prediction endpoint, the database, a backup)."""

from __future__ import annotations

import getpass
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.bootstrap.app import App
from tradeloop.core.equity_stats import max_drawdown, sharpe_ratio
from tradeloop.core.errors import DataError
from tradeloop.core.time import iso_from_ns, parse_ns
from tradeloop.rollout.mode_gates import DryRun, PaperRecord, Preflight
from tradeloop.store.sql.rollout_records import (
    SqlAccountModes,
    database_integrity,
    trades_logged,
)
from tradeloop.usecases.mode_transition import Actor
from tradeloop.usecases.paper_trading import PaperAccount

DAY_NS = 86_400 * 10**9


def mode_store(app: App) -> ProjectedModes:
    """The account modes; every change also rewrites var/run/exposure.json."""
    return ProjectedModes(SqlAccountModes(app.engine), lambda: write_exposure(app))


class ProjectedModes:
    """A mode store whose writes refresh the exposure snapshot `tradeloop status` reads
    (it opens no database)."""

    def __init__(self, inner: SqlAccountModes, changed: Any) -> None:
        self.inner, self.changed = inner, changed

    def get(self, account: str) -> Any:
        return self.inner.get(account)

    def all(self) -> Any:
        return self.inner.all()

    def reviews(self, account: str, live_since_ns: int) -> Any:
        return self.inner.reviews(account, live_since_ns)

    def save(self, mode: Any, audit: dict[str, Any]) -> None:
        self.inner.save(mode, audit)
        self.changed()

    def add_review(self, account: str, live_since_ns: int, review: Any, now_ns: int,
                   actor: str) -> bool:  # fmt: skip
        stored = self.inner.add_review(account, live_since_ns, review, now_ns, actor)
        if stored:
            self.changed()
        return stored


def exposure_path(home: Path) -> Path:
    return home / "run" / "exposure.json"


def write_exposure(app: App) -> None:
    """Snapshot the modes and the rollout for `tradeloop status` (best effort: a status
    file must never fail the change that triggered it)."""
    from tradeloop.core.atomic_file import write_atomic

    try:
        view = exposure_view(app, time.time_ns())
        view["as_of"] = iso_from_ns(time.time_ns())
        write_atomic(exposure_path(app.settings.home), json.dumps(view, default=str).encode())
    except Exception:  # the snapshot is a convenience, the database the truth
        import logging

        logging.getLogger(__name__).warning("exposure snapshot not written", exc_info=True)


def actor(app: App, name: str | None = None) -> Actor:
    """The operator, with notifications through the configured channels (if any)."""
    from tradeloop.usecases.notifications import send_report

    notifier = app.notifier()

    def notify(title: str, text: str) -> None:
        if notifier.enabled:
            send_report(notifier, title, text)

    return Actor(name or getpass.getuser(), notify)


class AppModeEvidence:
    def __init__(self, app: App) -> None:
        self.app = app

    def agent(self, ref: str) -> tuple[dict[str, Any], list[str]]:
        from tradeloop.usecases.agent_training import AGENT_MODEL_NAME

        registry = self.app.registry()
        version = registry.find(ref, AGENT_MODEL_NAME)
        files, manifest = registry.load(version.model_version_id)
        return manifest, sorted(files)

    def paper_record(self, account: str, since_ns: int, now_ns: int) -> PaperRecord:
        from tradeloop.execution.portfolio import Portfolio

        app = self.app
        paper = PaperAccount.under(app.settings.paper_dir, account)
        failures = tuple(_failures(app.settings.logs_dir / "errors.jsonl", since_ns, now_ns))
        days = max(0.0, (now_ns - since_ns) / DAY_NS)
        try:
            cash = paper.opening_cash(None, now_ns)
        except DataError:
            return PaperRecord(days, None, None, None, None, 0, 0, failures,
                               f"missing: {paper.root}", found=False)  # fmt: skip
        fills = app.paper_stores().order_journal(paper.run_id, "paper").fills()
        closed = [t for t in Portfolio.replayed(cash, fills).closed_trades
                  if since_ns <= t.ts_exit < now_ns]  # fmt: skip
        logged, _ = trades_logged(app.engine, paper.run_id, since_ns, now_ns)
        if not closed:
            return PaperRecord(days, None, None, None, None, 0, logged, failures)
        equity = _daily_equity(float(cash), [(t.ts_exit, float(t.pnl)) for t in closed],
                               since_ns, now_ns)  # fmt: skip
        wins = sum(1 for t in closed if t.pnl > 0)
        return PaperRecord(
            days, float(equity[-1] / equity[0] - 1), sharpe_ratio(equity, 252.0),
            -max_drawdown(equity), wins / len(closed), len(closed), logged, failures,
        )  # fmt: skip

    def dry_run(self, now_ns: int) -> DryRun:
        path = self.app.settings.logs_dir / "simulate.jsonl"
        latest, decisions, checks, sent = None, 0, 0, 0
        for record in _records(path):
            logged = record.get("logged_at")
            if not logged:
                continue
            at = parse_ns(str(logged))
            if not now_ns - DAY_NS * 7 <= at <= now_ns:
                continue
            latest = at if latest is None else max(latest, at)
            if now_ns - at > self.app.config.promotion.to_live.dry_run_max_age_hours * 3.6e12:
                continue
            decisions += 1
            checks += 1 if record.get("risk") else 0
            sent += 1 if record.get("sent_to_venue") else 0
        age = None if latest is None else (now_ns - latest) / 3.6e12
        return DryRun(age, decisions, checks, sent)

    def preflight(self, account: str, now_ns: int) -> Preflight:
        app = self.app
        authenticated, valid, cash, why = _broker(app)
        horizons, detail = _horizons(app)
        ok, db_detail = database_integrity(app.engine)
        return Preflight(tuple(_unhealthy(app)), authenticated, valid, cash, horizons, detail,
                         ok, db_detail, False, "not taken (other checks failed)", why)  # fmt: skip

    def backup(self, now_ns: int) -> tuple[bool, str]:
        return _backup(self.app, now_ns)

    def week_pnl(self, account: str, start_ns: int, end_ns: int) -> float:
        run_id = PaperAccount.under(self.app.settings.home / "live", account, live=True).run_id
        return float(trades_logged(self.app.engine, run_id, start_ns, end_ns)[1])


def _daily_equity(cash: float, pnl: list[tuple[int, float]], since: int, now: int) -> np.ndarray:
    """Equity at the end of every day of the window: opening cash plus realised P&L."""
    days = max(1, math.ceil((now - since) / DAY_NS))
    daily = np.zeros(days + 1)
    for ts, value in pnl:
        daily[1 + min(days - 1, (ts - since) // DAY_NS)] += value
    return cash + np.cumsum(daily)


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line of a killed writer
        if isinstance(record, dict):
            out.append(record)
    return out


def _failures(path: Path, since_ns: int, now_ns: int) -> list[str]:
    found = []
    for record in _records(path):
        try:
            at = parse_ns(str(record.get("ts")))
        except ValueError:
            continue
        if since_ns <= at <= now_ns:
            found.append(
                f"{record.get('ts')} {record.get('where', '')}: {record.get('error', '')}"[:200]
            )
    return found


def _broker(app: App) -> tuple[bool, float | None, float | None, str]:
    """Authenticated?, seconds the authentication stays valid (None: keys, no expiry),
    the cash it may spend, and why not when it failed."""
    try:
        venue = app.live_venue()
        spendable = getattr(venue, "available_cash", None)
        cash = float(spendable() if callable(spendable) else venue.balance())
    except Exception as exc:  # a broker refusing keys fails the check, not the command
        return False, None, None, str(exc).splitlines()[0][:200]
    valid = getattr(venue, "auth_valid_s", None)
    return True, (float(valid()) if callable(valid) else None), cash, "authenticated"


def _horizons(app: App) -> tuple[int | None, str]:
    import httpx

    gates, scorer = app.config.promotion.to_live, app.config.scorer
    # a scorer bound to every interface answers on loopback
    host = "127.0.0.1" if scorer.host in ("0.0.0.0", "::") else scorer.host  # noqa: S104
    url = f"http://{host}:{scorer.port}/v1/inference/predict/{gates.probe_symbol}"
    token = app.settings.api_token
    headers = {} if token is None else {"Authorization": f"Bearer {token.get_secret_value()}"}
    try:
        response = httpx.post(url, headers=headers, timeout=10.0)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return None, f"{url}: {type(exc).__name__}"
    curve = body.get("predictions_continuous") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(curve, list):
        return None, f"{url}: HTTP {response.status_code}"
    return len(curve), f"{len(curve)} horizons from {url}"


def _unhealthy(app: App) -> list[str]:
    from tradeloop.ops.host_health import CRIT, disk_check
    from tradeloop.ops.supervisor import alive, read_stack

    found = []
    try:
        stack = read_stack(app.settings.home / "run" / "stack.json")
    except Exception as exc:  # a damaged stack file is itself a finding
        found.append(f"var/run/stack.json: {exc}")
        stack = None
    if stack is not None and alive(stack.get("supervisor_pid")):
        for name, component in (stack.get("components") or {}).items():
            if component.get("status") != "running" or not alive(component.get("pid")):
                found.append(f"{name} is {component.get('status')} (tradeloop status)")
    if app.kill_switch().is_engaged():
        found.append("kill switch engaged (var/KILL_SWITCH)")
    disk = disk_check(app.settings.home, app.config.health)
    if disk.status == CRIT:
        found.append(f"disk: {disk.detail}")
    return found


def _backup(app: App, now_ns: int) -> tuple[bool, str]:
    from tradeloop.usecases.backup import create_backup

    try:
        snapshot = create_backup(app.database_snapshots(), app.settings.home, app.config.backup,
                                 now_ns=time.time_ns())  # fmt: skip
    except Exception as exc:  # a failed backup refuses the promotion, with why
        return False, f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    _ = now_ns
    return True, str(getattr(snapshot, "path", snapshot))


def exposure_view(app: App, now_ns: int) -> dict[str, Any]:
    """Each account's mode, ramp week and limits, and the scalper's rollout with its guard
    rails, as stored (nothing is reviewed or written): `tradeloop status`, the desk."""
    from tradeloop.bootstrap.scalper_release import rollout_view
    from tradeloop.ops.supervisor import read_service_counters
    from tradeloop.usecases.mode_transition import account_status

    store = SqlAccountModes(app.engine)
    rows = account_status(store, AppModeEvidence(app), app.config.promotion, [],
                          app.config.risk, now_ns, actor(app, "status"), review=False)  # fmt: skip
    accounts = [
        {"account": r.mode.account, "mode": r.mode.mode,
         "since": iso_from_ns(r.mode.since_ns) if r.mode.since_ns else None,
         "week": r.week, "step": None if r.step is None else r.step + 1,
         "limits": r.limits, "reason": r.mode.reason}
        for r in rows
    ]  # fmt: skip
    rollout = rollout_view(app, now_ns)
    for service, key in (("executor", "executor"), ("risk", "guard")):
        counters = read_service_counters(app.settings.home, service) or {}
        rollout[key] = counters.get("rollout") or {}
    return {"accounts": accounts, "rollout": rollout}


__all__ = ["AppModeEvidence", "actor", "exposure_view", "iso_from_ns", "mode_store"]
