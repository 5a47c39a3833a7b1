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
    _store(tmp_path, "^GSPC")

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

    mode = _run(tmp_path, "run", "--mode", "papr", "--tickers", "^GSPC")
    assert mode.returncode == 2
    assert "backtest, paper, simulate, live" in mode.stderr
    unknown = _run(tmp_path, "run", "--tickers", "^GSPC", "--strategy", "magic")
    assert unknown.returncode == 2
    assert "sma_cross" in unknown.stderr


def _store(root: Path, symbol: str) -> None:
    from tradeloop.adapters.bundled.provider import BundledProvider
    from tradeloop.bootstrap.database import open_database
    from tradeloop.settings import load_settings
    from tradeloop.store.sql.bar_store import SqlBarStore

    engine = open_database(load_settings(home=root / "var"))
    SqlBarStore(engine).upsert_bars(BundledProvider().history(symbol))
    engine.dispose()


def _store_goog(root: Path) -> None:
    _store(root, "GOOG")


def test_simulate_when_run_then_decisions_logged_and_nothing_journaled(tmp_path: Path) -> None:
    _store_goog(tmp_path)
    window = ("--tickers", "GOOG", "--start", "2012-01-01", "--end", "2012-12-31")
    result = _run(tmp_path, "run", "--mode", "simulate", *window, "--run-once", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["mode"] == "simulate"
    assert summary["orders_sent"] > 0
    decisions = (tmp_path / "var" / "logs" / "simulate.jsonl").read_text().splitlines()
    assert len(decisions) == summary["orders_sent"] + summary["orders_denied"]
    first = json.loads(decisions[0])
    assert first["sent_to_venue"] is False
    assert first["risk"] == "approved"
    import sqlite3

    with sqlite3.connect(tmp_path / "var" / "tradeloop.db") as connection:
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (0,)


def test_paper_when_run_twice_then_second_run_continues_the_account(tmp_path: Path) -> None:
    _store_goog(tmp_path)
    base = ("run", "--mode", "paper", "--account", "demo", "--tickers", "GOOG", "--json")
    first = _run(tmp_path, *base, "--start", "2012-01-01", "--end", "2012-06-30", "--run-once")
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert one["fills"] > 0
    assert one["cursor"].startswith("2012-06-29")
    second = _run(tmp_path, *base, "--start", "2012-01-01", "--end", "2012-12-31", "--run-once")
    assert second.returncode == 0, second.stderr
    two = json.loads(second.stdout)
    assert two["cursor"].startswith("2012-12-31")
    assert two["bars_stepped"] < 140  # only the second half is traded again
    assert "daily_pnl" in two
    capital = _run(tmp_path, *base, "--capital", "5", "--run-once")
    assert capital.returncode == 2
    assert "opened with" in capital.stderr


def test_paper_when_account_holds_two_symbols_then_it_restarts(tmp_path: Path) -> None:
    _store(tmp_path, "GOOG")
    _store(tmp_path, "^GSPC")
    base = (
        "run",
        "--mode",
        "paper",
        "--account",
        "pair",
        "--tickers",
        "GOOG,^GSPC",
        "--fast",
        "2",
        "--slow",
        "5",
        "--start",
        "2012-01-01",
        "--json",
        "--run-once",
    )
    first = _run(tmp_path, *base, "--end", "2012-06-29")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["fills"] > 10
    # The restart warms up on GOOG's bars before ^GSPC has a price: no KeyError.
    second = _run(tmp_path, *base, "--end", "2012-12-31")
    assert second.returncode == 0, second.stderr
    two = json.loads(second.stdout)
    assert two["cursor"].startswith("2012-12-31")
    assert two["bars_stepped"] > 200  # both symbols' second half


def test_paper_when_symbol_quarantined_then_refused_like_live(tmp_path: Path) -> None:
    import sqlite3

    _store_goog(tmp_path)
    with sqlite3.connect(tmp_path / "var" / "tradeloop.db") as db:
        db.execute(
            "INSERT INTO symbol_governance (symbol, state, reason, rows, quality_score, "
            "provider, ts_updated) VALUES ('GOOG', 'QUARANTINED', 'quality 0.41 < 0.6', "
            "2148, 0.41, 'bundled', 0)"
        )
    paper = ("run", "--mode", "paper", "--account", "g", "--tickers", "GOOG", "--run-once")
    refused = _run(tmp_path, *paper)
    assert refused.returncode == 2
    assert "GOOG: QUARANTINED: quality 0.41 < 0.6" in refused.stderr
    assert "QUARANTINED" in (tmp_path / "var" / "governance_halt.log").read_text()
    assert not (tmp_path / "var" / "paper" / "g").exists()  # refused before opening it
    daemon = _run(tmp_path, "daemon", "--account", "g", "--tickers", "GOOG")
    assert daemon.returncode == 2
    assert "GOOG: QUARANTINED" in daemon.stderr


def test_live_when_symbol_not_governed_active_then_refused(tmp_path: Path) -> None:
    _store_goog(tmp_path)
    result = _run(tmp_path, "run", "--mode", "live", "--feed", "live", "--tickers", "GOOG")
    assert result.returncode == 2
    assert "GOOG" in result.stderr
    assert (tmp_path / "var" / "governance_halt.log").exists()


def test_user_strategy_when_named_module_class_then_it_trades(tmp_path: Path) -> None:
    import shutil

    _store_goog(tmp_path)
    shutil.copytree(Path(__file__).parents[2] / "examples", tmp_path / "examples")
    window = ("--tickers", "GOOG", "--start", "2006-01-01", "--end", "2010-12-31", "--json")
    result = _run(tmp_path, "run", "--strategy", "examples.breakout:Breakout", *window)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["strategy"]["trades"] > 3
    wrong = _run(tmp_path, "run", "--strategy", "examples.breakout:Nope", *window)
    assert wrong.returncode == 2
    assert "cannot load it" in wrong.stderr


def test_halt_resume_close_all_when_operator_acts_then_orders_stop_and_positions_close(
    tmp_path: Path,
) -> None:
    import sqlite3

    _store_goog(tmp_path)
    var = tmp_path / "var"
    paper = ("run", "--mode", "paper", "--account", "ops", "--tickers", "GOOG", "--json")
    first = _run(tmp_path, *paper, "--start", "2012-01-01", "--end", "2012-02-29", "--run-once")
    assert first.returncode == 0, first.stderr
    assert _run(tmp_path, "halt").returncode == 2  # --reason is required
    halted = _run(tmp_path, "halt", "--reason", "feed gap on GOOG")
    assert halted.returncode == 0, halted.stderr
    assert (var / "KILL_SWITCH").exists()

    during = _run(tmp_path, *paper, "--start", "2012-01-01", "--end", "2012-06-30", "--run-once")
    assert during.returncode == 0, during.stderr
    stopped = json.loads(during.stdout)
    assert stopped["orders_sent"] == 0
    assert stopped["orders_denied"] > 0

    resumed = _run(tmp_path, "resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "feed gap on GOOG" in json.loads(resumed.stdout)["kill_switch_was"]
    assert not (var / "KILL_SWITCH").exists()
    assert _run(tmp_path, "close-all", "--account", "ops").returncode == 2  # needs --confirm

    held = json.loads(
        _run(tmp_path, *paper, "--start", "2012-01-01", "--end", "2012-09-28", "--run-once").stdout
    )["positions"]
    assert held, "the account should hold GOOG here (an SMA 10/30 long in Sept 2012)"
    # The emergency order of the runbooks: halt, then close all. Flattening passes the
    # kill switch; nothing else does.
    assert _run(tmp_path, "halt", "--reason", "flatten GOOG now").returncode == 0
    closing = _run(tmp_path, "close-all", "--account", "ops", "--confirm", "--json")
    assert closing.returncode == 0, closing.stderr
    assert len(json.loads(closing.stdout)["sent"]) == len(held)
    after = _run(tmp_path, *paper, "--start", "2012-01-01", "--end", "2012-12-31", "--run-once")
    flat = json.loads(after.stdout)
    assert flat["positions"] == {}  # closed on the next bar, with the kill switch present
    assert flat["orders_sent"] == 0  # and the strategy's own orders were all denied
    assert (var / "KILL_SWITCH").exists()

    log = (var / "governance_halt.log").read_text()
    assert "HALT by" in log
    assert "RESUME by" in log
    assert "CLOSE-ALL by" in log
    with sqlite3.connect(var / "tradeloop.db") as connection:
        kinds = {k for (k,) in connection.execute("SELECT kind FROM audit_event")}
    assert {"halt", "resume", "close_all"} <= kinds

    final = _run(tmp_path, "resume")  # says what it changed, in words
    assert final.returncode == 0, final.stderr
    assert "paper account ops: REDUCING" in final.stdout
    assert "-> ACTIVE" in final.stdout
    assert "{" not in final.stdout


def test_risk_var_when_account_holds_goog_then_three_estimates(tmp_path: Path) -> None:
    _store_goog(tmp_path)
    paper = ("run", "--mode", "paper", "--account", "v", "--tickers", "GOOG", "--json")
    ran = _run(tmp_path, *paper, "--start", "2012-01-01", "--end", "2012-09-28", "--run-once")
    assert json.loads(ran.stdout)["positions"], "an SMA 10/30 long in Sept 2012"
    result = _run(tmp_path, "risk", "var", "--account", "v", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    methods = [e["method"] for e in report["estimates"]]
    assert methods == ["historical", "parametric", "garch(1,1)"]
    for estimate in report["estimates"]:
        assert 0 < estimate["var"] <= estimate["cvar"]
        assert estimate["var_pct_equity"] < 0.2  # a 20 % position loses less than itself
    missing = _run(tmp_path, "risk", "var", "--account", "nobody")
    assert missing.returncode == 2
    assert "no paper account" in missing.stderr


def test_run_when_output_is_read_then_it_says_what_happened(tmp_path: Path) -> None:
    """No data: exit 2 before an account exists; simulate would send (it sends nothing);
    the traded symbol as its own benchmark is one line, said so; a backtest whose every
    order is denied says so and exits 1."""
    empty = _run(tmp_path, "run", "--mode", "paper", "--account", "a", "--tickers", "GOOG")
    assert empty.returncode == 2, empty.stdout + empty.stderr
    assert "nothing to trade" in empty.stderr
    assert not (tmp_path / "var" / "paper" / "a").exists()

    _store_goog(tmp_path)
    window = ("--tickers", "GOOG", "--start", "2012-01-01", "--end", "2012-12-31")
    simulated = _run(tmp_path, "run", "--mode", "simulate", *window, "--run-once")
    assert simulated.returncode == 0, simulated.stderr
    assert " would send" in simulated.stdout
    assert " sent" not in simulated.stdout.replace("would send", "")

    itself = _run(tmp_path, "run", *window, "--benchmark", "GOOG", "--json")
    assert itself.returncode == 0, itself.stderr
    ran = json.loads(itself.stdout)
    assert list(ran["metrics"]) == ["strategy", "buy and hold"]  # one line, not two equal
    assert "is the traded symbol" in ran["note"]

    assert _run(tmp_path, "halt", "--reason", "test").returncode == 0
    denied = _run(tmp_path, "run", *window)
    assert denied.returncode == 1, denied.stdout + denied.stderr
    assert "every order was denied by the risk checks (KILL_SWITCH" in denied.stderr
