"""The to-live gates' evidence read from a real paper account and a real simulate run:
the record's trades equal the trades table and its return is the table's P&L over the
opening cash; the dry run counts decisions and risk checks and sees no order sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tradeloop.core.time import parse_ns

PINNED = "2026-06-03T18:00:05Z"
WINDOW = ("--start", "2023-01-01", "--end", "2024-06-28")


def _tl(root: Path, *args: str) -> str:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))
    }
    environment["TRADELOOP_HOME"] = str(root / "var")
    done = subprocess.run(
        [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED, *args], cwd=root,
        env=environment, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return done.stdout


def test_evidence_when_paper_and_simulate_ran_then_figures_match_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tl(tmp_path, "ingest", "--offline", "--tickers", "AAPL", "--start", "2019-01-01",
        "--end", "2024-06-28")  # fmt: skip
    strategy = ("--fast", "5", "--slow", "20")
    _tl(tmp_path, "run", "--mode", "paper", "--tickers", "AAPL", *WINDOW, "--account", "main",
        "--run-once", *strategy)  # fmt: skip
    _tl(tmp_path, "run", "--mode", "simulate", "--tickers", "AAPL", *WINDOW, "--run-once",
        *strategy)  # fmt: skip
    monkeypatch.setenv("TRADELOOP_HOME", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.rollout import AppModeEvidence
    from tradeloop.settings import load_settings
    from tradeloop.store.sql.tables import trades

    app = build_app(load_settings())
    now = parse_ns(PINNED) + 60 * 10**9
    since = parse_ns("2023-01-01")
    record = AppModeEvidence(app).paper_record("main", since, now)
    with app.engine.connect() as connection:
        rows = connection.execute(select(trades).where(trades.c.run_id == "paper-main")).all()
    assert record.trades > 0
    assert record.trades == record.trades_table == len(rows)
    cash = json.loads((tmp_path / "var" / "paper" / "main" / "account.json").read_text())
    pnl = sum((Decimal(str(r.pnl)) for r in rows), Decimal(0))
    assert record.total_return == pytest.approx(float(pnl / Decimal(str(cash["initial_cash"]))))
    wins = sum(1 for r in rows if r.pnl > 0)
    assert record.win_rate == pytest.approx(wins / len(rows))
    assert record.failures == ()
    dry = AppModeEvidence(app).dry_run(now)
    assert dry.age_hours is not None
    assert dry.age_hours < 1
    assert dry.decisions > 0
    assert dry.risk_checks == dry.decisions
    assert dry.orders_sent == 0
    app.engine.dispose()


def test_preflight_when_broker_answers_or_refuses_then_cash_or_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradeloop.testing.fake_alpaca import KEY, SECRET, FakeAlpaca

    monkeypatch.setenv("TRADELOOP_HOME", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.rollout import AppModeEvidence
    from tradeloop.rollout.config import ToLiveGates
    from tradeloop.rollout.mode_gates import preflight
    from tradeloop.settings import load_settings

    app = build_app(load_settings())
    with FakeAlpaca(equity="25000") as fake:
        fake.cash = Decimal("9000")
        for name, value in {"EXCHANGE_VENUE": "alpaca", "EXCHANGE_MODE": "paper",
                            "EXCHANGE_BASE_URL": fake.url, "ALPACA_API_KEY_ID": KEY,
                            "ALPACA_API_SECRET_KEY": SECRET}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        checks = AppModeEvidence(app).preflight("main", 0)
        assert checks.broker_authenticated
        assert checks.available_cash_usd == 9000.0
        table = {c.name: c for c in preflight(checks, ToLiveGates())}
        assert not table["available cash"].ok  # 9,000 < 10,000: spendable cash, not equity
        assert table["broker authentication valid for"].value == "no expiry"
        assert not table["prediction endpoint"].ok  # no scorer runs here
        assert table["database integrity"].ok
        assert not table["backup of config and database"].ok  # the use case takes it last
        monkeypatch.setenv("ALPACA_API_SECRET_KEY", "wrong")
        refused = AppModeEvidence(app).preflight("main", 0)
    assert not refused.broker_authenticated
    assert "401" in refused.broker_detail
    assert "wrong" not in refused.broker_detail
    taken, where = AppModeEvidence(app).backup(0)
    assert taken
    assert "snapshot-" in where
    assert list((tmp_path / "var" / "backups").glob("snapshot-*"))
    app.engine.dispose()
