"""`tradeloop ingest`, `verify` and `repair` as a user runs them, plus a real kill -9 loop."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tradeloop.testing.waiting import wait_until

SYMBOLS = ["SPY", "AAPL", "EURUSD=X", "BTC-USD"]


def _project(tmp_path: Path, symbols: list[str] = SYMBOLS, extra: str = "") -> Path:
    root = tmp_path / "desk"
    (root / "config").mkdir(parents=True)
    (root / "config" / "universe.json").write_text(json.dumps({"symbols": symbols}))
    (root / "tradeloop.yaml").write_text("ingest:\n  offline: true\n" + extra)
    return root


def _run(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_ingest_verify_repair_when_offline_then_governed_history(tmp_path: Path) -> None:
    root = _project(tmp_path)
    ingest = _run(root, "ingest", "--mode", "deep_backfill", "--end", "2024-06-28", "--json")
    assert ingest.returncode == 0, ingest.stderr
    summary = json.loads(ingest.stdout)
    assert summary["status"] == "OK"
    states = {s["symbol"]: (s["state"], s["rows"]) for s in summary["symbols"]}
    assert states == dict.fromkeys(SYMBOLS, ("ACTIVE", 1260))
    metrics = (root / "var" / "metrics" / "ingest.prom").read_text()
    assert 'tradeloop_ingest_symbols{mode="deep_backfill",state="ACTIVE"} 4.0' in metrics
    assert 'tradeloop_ingest_rejection_alert{mode="deep_backfill"} 0.0' in metrics
    raw = root / "var" / "raw" / summary["run_id"]
    assert not raw.exists() or all(p.suffixes == [".json", ".gz"] for p in raw.iterdir())

    verify = _run(root, "verify", "--strict", "--json")
    assert verify.returncode == 0, verify.stdout
    report = json.loads(verify.stdout)
    assert report["version"] == 1
    assert report["ok"] is True
    assert report["checks"]["governance"]["counts"]["ACTIVE"] == 4

    repair = _run(
        root, "repair", "--symbol", "AAPL", "--from", "2024-01-02", "--to", "2024-01-31", "--json"
    )
    assert repair.returncode == 0, repair.stderr
    assert json.loads(repair.stdout)["symbols"][0]["state"] == "ACTIVE"


def test_ingest_when_tickers_outside_universe_then_exit_2(tmp_path: Path) -> None:
    result = _run(_project(tmp_path), "ingest", "--tickers", "SPY,TSLA")
    assert result.returncode == 2
    assert "--tickers TSLA: not in the universe" in result.stderr


@pytest.mark.parametrize("tickers", ["", " , "])
def test_ingest_when_tickers_empty_then_exit_2_not_the_whole_universe(
    tmp_path: Path, tickers: str
) -> None:
    root = _project(tmp_path)
    result = _run(root, "ingest", "--tickers", tickers, "--end", "2024-06-28")
    assert result.returncode == 2
    assert "no symbol given" in result.stderr
    assert not (root / "var" / "tradeloop.db").exists()  # nothing was ingested


def test_verify_when_symbol_never_ingested_then_strict_exits_1(tmp_path: Path) -> None:
    root = _project(tmp_path, ["SPY", "MSFT"])
    assert _run(root, "ingest", "--tickers", "SPY", "--end", "2024-06-28").returncode == 0
    plain = _run(root, "verify", "--symbols")
    assert plain.returncode == 0
    assert "MSFT" in plain.stdout
    strict = _run(root, "verify", "--symbols", "--strict", "--json")
    assert strict.returncode == 1
    failures = json.loads(strict.stdout)["checks"]["symbols"]["failures"]
    assert failures == [{"symbol": "MSFT", "state": "MISSING", "reason": "never ingested"}]


@pytest.mark.slow
def test_ingest_when_fanned_out_on_dask_then_same_result_as_in_process(tmp_path: Path) -> None:
    from distributed import LocalCluster

    serial = _project(tmp_path / "serial")
    parallel = _project(tmp_path / "parallel")
    args = ("ingest", "--mode", "deep_backfill", "--end", "2024-06-28", "--json")
    one = json.loads(_run(serial, *args).stdout)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        many = _run(parallel, *args, "--cluster", cluster.scheduler_address)
    assert many.returncode == 0, many.stderr
    two = json.loads(many.stdout)
    key = lambda s: (s["symbol"], s["state"], s["rows"], s["quality"])  # noqa: E731
    assert sorted(map(key, one["symbols"])) == sorted(map(key, two["symbols"]))
    rows = {}
    for name, root in (("serial", serial), ("parallel", parallel)):
        with sqlite3.connect(root / "var" / "tradeloop.db") as db:
            rows[name] = db.execute(
                "SELECT symbol, ts, open, close FROM price_history ORDER BY symbol, ts"
            ).fetchall()
    assert rows["serial"] == rows["parallel"]


def test_ingest_when_workers_asked_for_local_data_then_in_process_and_says_why(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path, ["SPY", "AAPL"])
    result = _run(root, "ingest", "--end", "2024-06-28", "--workers", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert "--workers 2: fetching in this process" in result.stderr
    assert "local data" in result.stderr
    assert {s["state"] for s in json.loads(result.stdout)["symbols"]} == {"ACTIVE"}


def _committed_by(database: Path, pid: int) -> int:
    """Symbols committed so far by the ingest run of process ``pid`` (-1 before it starts)."""
    if not database.exists():
        return -1
    try:
        with sqlite3.connect(database, timeout=5) as db:
            run = db.execute(
                "SELECT run_id FROM ingestion_audit_runs WHERE owner LIKE ? AND status = 'RUNNING'",
                (f"%:{pid}",),
            ).fetchone()
            if run is None:
                return -1
            return int(
                db.execute(
                    "SELECT count(DISTINCT symbol) FROM ingestion_audit WHERE run_id = ?", run
                ).fetchone()[0]
            )
    except sqlite3.OperationalError:  # the schema is still being created
        return -1


@pytest.mark.slow
def test_ingest_when_killed_repeatedly_then_rerun_leaves_complete_unduplicated_data(
    tmp_path: Path,
) -> None:
    symbols = [f"S{n:03d}" for n in range(120)]
    # Small group commits: many commit points for the kills to land between.
    root = _project(tmp_path, symbols, "  commit_batch_symbols: 4\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(root / "var")
    database = root / "var" / "tradeloop.db"
    rng = random.Random(7)
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-m", "tradeloop.cli", "ingest", "--end", "2024-06-28"],
            cwd=root,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Kill after a random number of group commits of this run, seen in the database.
        commits = rng.randint(1, 20)
        wait_until(
            lambda: _committed_by(database, child.pid) >= 4 * commits,  # noqa: B023  # called before child changes
            f"{commits} group commits of the ingest run",
            timeout_s=120,
            alive=lambda: child.poll() is None,  # noqa: B023  # called before child changes
        )
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        with sqlite3.connect(database) as db:
            counts = dict(db.execute("SELECT symbol, count(*) FROM price_history GROUP BY symbol"))
            (status,) = db.execute(
                "SELECT status FROM ingestion_audit_runs WHERE owner LIKE ?", (f"%:{child.pid}",)
            ).fetchone()
        assert status == "RUNNING"  # the kill landed mid-run: the run never finished
        assert set(counts.values()) == {1260}, counts  # each symbol commits whole or not at all
        assert 4 * commits <= len(counts) < len(symbols)
    final = _run(root, "ingest", "--end", "2024-06-28", "--json")
    assert final.returncode == 0, final.stderr
    with sqlite3.connect(database) as db:
        runs = dict(db.execute("SELECT status, count(*) FROM ingestion_audit_runs GROUP BY 1"))
    assert runs == {"ABORTED": 6, "OK": 1}  # the killed runs sealed by the next start
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counts = dict(db.execute("SELECT symbol, count(*) FROM price_history GROUP BY symbol"))
        duplicates = db.execute(
            "SELECT count(*) FROM (SELECT symbol, ts FROM price_history GROUP BY symbol, ts "
            "HAVING count(*) > 1)"
        ).fetchone()[0]
        states = dict(db.execute("SELECT symbol, state FROM symbol_governance"))
    assert counts == dict.fromkeys(symbols, 1260)
    assert duplicates == 0
    assert states == dict.fromkeys(symbols, "ACTIVE")


@pytest.mark.slow
def test_ingest_when_cluster_address_given_then_fetches_run_there(tmp_path: Path) -> None:
    from distributed import LocalCluster

    root = _project(tmp_path, ["SPY", "QQQ"])
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        result = _run(
            root, "ingest", "--end", "2024-06-28", "--cluster", cluster.scheduler_address, "--json"
        )
    assert result.returncode == 0, result.stderr
    assert {s["state"] for s in json.loads(result.stdout)["symbols"]} == {"ACTIVE"}


def test_ingest_when_no_provider_answers_then_exit_3_pointing_to_offline_which_works(
    tmp_path: Path,
) -> None:
    """A first run without the internet: the transient-failure code and the fix; then the
    fix from another folder, the config's relative universe path read next to it."""
    root = tmp_path / "desk"
    (root / "config").mkdir(parents=True)
    (root / "config" / "universe.json").write_text(json.dumps({"symbols": ["SPY", "AAPL"]}))
    config = root / "tradeloop.yaml"
    config.write_text(
        "ingest:\n"
        "  priority: [yahoo]\n"
        "  endpoints: {yahoo: 'http://127.0.0.1:9'}\n"  # nothing listens: connection refused
        "  retry: {max_attempts: 1, base_delay_ms: 0, timeout_ms: 2000}\n"
    )
    refused = _run(root, "ingest", "--end", "2024-06-28")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "tradeloop ingest --offline" in refused.stderr
    assert "Traceback" not in refused.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(root / "var")
    args = ["ingest", "--offline", "--end", "2024-06-28", "--config", str(config), "--json"]
    offline = subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args],
        cwd=elsewhere,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert offline.returncode == 0, offline.stderr
    summary = json.loads(offline.stdout)
    assert {s["symbol"]: s["state"] for s in summary["symbols"]} == {
        "SPY": "ACTIVE",
        "AAPL": "ACTIVE",
    }
