"""`tradeloop daemon` as an operator runs it: trades new bars, stops at the kill switch."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from tradeloop.adapters.bundled.provider import BundledProvider
from tradeloop.bootstrap.database import open_database
from tradeloop.core.time import parse_ns
from tradeloop.models.config import ForecastConfig
from tradeloop.models.forecaster import forecast_returns
from tradeloop.settings import load_settings
from tradeloop.store.sql.bar_store import SqlBarStore

GOOG = BundledProvider().history("GOOG")
# The daemons below run on a wall clock pinned here (then ticking): a Wednesday afternoon
# in New York, so "the last three days" always holds Monday, Tuesday and most of Wednesday.
PINNED = "2026-06-03T18:00:30Z"
CLI = [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED]


def _store(home: Path, first: str, last: str) -> None:
    engine = open_database(load_settings(home=home))
    SqlBarStore(engine).upsert_bars(
        GOOG.filter((pl.col("ts") >= parse_ns(first)) & (pl.col("ts") <= parse_ns(last)))
    )
    engine.dispose()


def _orders(home: Path) -> int:
    with sqlite3.connect(home / "tradeloop.db") as connection:
        return int(connection.execute("SELECT count(*) FROM orders").fetchone()[0])


def _wait(condition, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_daemon_when_kill_switch_appears_mid_run_then_no_order_after_next_tick(
    tmp_path: Path,
) -> None:
    home = tmp_path / "var"
    _store(home, "2011-01-01", "2011-12-31")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(home)
    out = (tmp_path / "daemon.out").open("w")
    daemon = subprocess.Popen(
        [
            *CLI,
            "daemon",
            "--account",
            "d",
            "--tickers",
            "GOOG",
            "--fast",
            "2",
            "--slow",
            "5",
            "--start",
            "2011-01-01",
            "--tick-interval",
            "0.2",
            "--heartbeat",
            "0.5",
            "--data-refresh",
            "600",
        ],
        cwd=tmp_path,
        env=environment,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    log = tmp_path / "daemon.out"
    try:
        assert _wait(lambda: "HEARTBEAT" in log.read_text()), log.read_text()
        assert _orders(home) == 0  # history only warms it up: it trades from now on
        assert (home / "TRADING_MODE").exists()

        _store(home, "2012-01-01", "2012-02-29")  # ingestion delivers new bars (< 50)
        assert _wait(lambda: _orders(home) > 0), log.read_text()
        assert _wait(
            lambda: (
                json.loads((home / "paper" / "d" / "cursor.json").read_text())["ts"]
                >= parse_ns("2012-02-29")
            )
        )
        (home / "KILL_SWITCH").write_text("test: halt mid-run\n")
        before = _orders(home)  # every stored bar is traded: nothing is in flight

        _store(home, "2012-04-01", "2012-12-31")  # signals keep coming
        assert _wait(
            lambda: (
                json.loads((home / "paper" / "d" / "cursor.json").read_text())["ts"]
                >= parse_ns("2012-12-28")
            )
        ), log.read_text()
        assert _orders(home) == before
        assert "KILL_SWITCH" in log.read_text()
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        out.close()
    assert code == 0, log.read_text()
    lines = [json.loads(x) for x in (home / "logs" / "live.jsonl").read_text().splitlines()]
    assert lines[-1]["event"] == "stopped"
    assert lines[-1]["orders_denied"] > 0
    assert any(x["event"] == "heartbeat" and "HEARTBEAT | uptime=" in x["line"] for x in lines)
    assert not (home / "TRADING_MODE").exists()
    metrics = (home / "metrics" / "risk.prom").read_text()
    assert 'tradeloop_risk_denials_total{account="d",reason="KILL_SWITCH"}' in metrics


def test_daemon_intraday_when_refreshing_then_collector_stores_bars_and_forecasts_run(
    tmp_path: Path,
) -> None:
    home = tmp_path / "var"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment.update(
        {
            "TRADELOOP_HOME": str(home),
            "LIVE_COLLECTOR_SOURCE": "synthetic",
            "LIVE_COLLECTOR_RANGE": "3d",
        }
    )
    out = (tmp_path / "daemon.out").open("w")
    daemon = subprocess.Popen(
        [
            *CLI,
            "daemon",
            "--account",
            "i",
            "--tickers",
            "SPY",
            "--interval",
            "5m",
            "--tick-interval",
            "0.2",
            "--heartbeat",
            "0.5",
            "--data-refresh",
            "0.02",
        ],
        cwd=tmp_path,
        env=environment,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    live = home / "logs" / "live.jsonl"
    try:
        assert _wait(lambda: live.exists() and '"forecast"' in live.read_text()), (
            tmp_path / "daemon.out"
        ).read_text()
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        out.close()
    assert code == 0
    with sqlite3.connect(home / "tradeloop.db") as connection:
        stored = connection.execute(
            "SELECT count(*) FROM price_history WHERE symbol = 'SPY'"
        ).fetchone()[0]
    # Three days back from Wednesday 18:00:30 UTC: Monday and Tuesday whole (78 five-minute
    # bars each) and Wednesday's 54 closed by 18:00 (13:30-18:00 UTC), polled by the daemon.
    assert stored == 78 + 78 + 54
    lines = [json.loads(x) for x in live.read_text().splitlines()]
    assert lines[-1]["event"] == "stopped"
    assert lines[-1]["refresh_errors"] == 0
    made = [x for x in lines if x["event"] == "forecast"]
    assert made[0]["symbol"] == "SPY"
    assert made[0]["observations"] > 100
    assert "arima_fb=" in next(x["line"] for x in lines if x["event"] == "heartbeat")


def test_forecast_cli_on_stored_history(tmp_path: Path) -> None:
    home = tmp_path / "var"
    _store(home, "2010-01-01", "2012-12-31")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(home)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "forecast", *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = cli("--tickers", "GOOG", "--horizons", "1,5,20", "--json")
    assert made.returncode == 0, made.stderr
    goog = json.loads(made.stdout)["GOOG"]
    assert goog["horizons"] == [1, 5, 20]
    # The forecast of exactly the stored closes (the unit tests hold the forecaster itself
    # to statsmodels and pandas): same method, same numbers.
    stored = GOOG.filter(
        (pl.col("ts") >= parse_ns("2010-01-01")) & (pl.col("ts") <= parse_ns("2012-12-31"))
    )
    expected = forecast_returns(stored["close"].to_numpy(), ForecastConfig(horizons=(1, 5, 20)))
    assert goog["method"] == expected.method == "arima"
    assert goog["observations"] == 500  # the forecast.window most recent returns
    assert goog["log_returns"] == [round(r, 8) for r in expected.log_returns]
    missing = cli("--tickers", "NOPE")
    assert missing.returncode == 2
    assert "no stored 1d bars" in missing.stderr
    assert cli("--horizons", "0,5").returncode == 2
