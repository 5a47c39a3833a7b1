"""A paper account survives `kill -9` anywhere in its order path.

A paper run of a fast-trading SMA cross over real bundled GOOG history is killed at random
moments (>= 50 kills that landed while it was trading) and restarted each time. After
every restart the account must reconcile with its simulated venue (the run starts
trading instead of refusing); at the end, the crashed account must hold exactly what an
uninterrupted account holds: the same orders, fills, positions and cash, with no order
twice at the venue and no fill lost or applied twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tradeloop.adapters.bundled.provider import BundledProvider
from tradeloop.bootstrap.database import open_database
from tradeloop.settings import load_settings
from tradeloop.store.sql.bar_store import SqlBarStore
from tradeloop.testing.waiting import wait_until

KILLS = 50
RANGE = ("--start", "2005-01-01", "--end", "2013-03-01")


def _environment(home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(home)
    return environment


def _command(account: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tradeloop.cli",
        "run",
        "--mode",
        "paper",
        "--account",
        account,
        "--tickers",
        "GOOG",
        "--fast",
        "2",
        "--slow",
        "5",
        *RANGE,
        "--run-once",
    ]


class PaperRun:
    """One ``tradeloop run --mode paper`` process; its output goes to files (a pipe nobody
    reads would block it)."""

    def __init__(self, home: Path, account: str, number: int) -> None:
        self.out = home.parent / f"{account}-{number}.out"
        self.err = home.parent / f"{account}-{number}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                _command(account), env=_environment(home), stdout=out, stderr=err
            )

    def wait_trading(self) -> None:
        """Block until the run says it reconciled and is trading (or fail with its output)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if "paper: trading" in self.out.read_text():
                return
            if self.process.poll() is not None and "paper: trading" not in self.out.read_text():
                pytest.fail(
                    f"paper run did not start trading (exit {self.process.returncode}): "
                    f"{self.err.read_text()}"
                )
            time.sleep(0.02)
        pytest.fail("paper run did not start within 120 s")

    def finish(self) -> None:
        code = self.process.wait(timeout=600)
        assert code == 0, self.err.read_text()


def _account_state(home: Path, account: str) -> dict[str, object]:
    engine = create_engine(f"sqlite:///{home / 'tradeloop.db'}")
    run_id = f"paper-{account}"
    with engine.connect() as connection:
        orders = connection.execute(
            text("SELECT symbol, side, quantity, ts_init, status FROM orders WHERE run_id=:r"),
            {"r": run_id},
        ).all()
        fills = connection.execute(
            text(
                "SELECT f.fill_id, f.symbol, f.side, f.quantity, f.price, f.ts_event FROM fills f"
                " JOIN orders o ON o.client_order_id = f.client_order_id WHERE o.run_id=:r"
            ),
            {"r": run_id},
        ).all()
    engine.dispose()
    venue = json.loads((home / "paper" / account / "exchange.json").read_text())
    return {"orders": orders, "fills": fills, "venue": venue}


def _order_count(home: Path, account: str) -> int:
    import sqlite3

    with sqlite3.connect(home / "tradeloop.db", timeout=10) as db:
        query = "SELECT count(*) FROM orders WHERE run_id = ?"
        return int(db.execute(query, (f"paper-{account}",)).fetchone()[0])


def _check_invariants(state: dict[str, object]) -> None:
    """What must hold after any kill: no order twice, the journal never ahead of the venue."""
    venue = state["venue"]
    assert isinstance(venue, dict)
    decisions = [(o["symbol"], o["side"], o["ts_init"]) for o in venue["orders"]]
    assert len(decisions) == len(set(decisions)), "the venue received an order twice"
    venue_fills = {f["fill_id"] for fills in venue["fills"].values() for f in fills}
    journal_fills = [row[0] for row in state["fills"]]  # type: ignore[attr-defined]
    assert len(journal_fills) == len(set(journal_fills))
    assert set(journal_fills) <= venue_fills, "a fill the venue never made"


def _summary(state: dict[str, object]) -> dict[str, object]:
    venue = state["venue"]
    assert isinstance(venue, dict)
    fills = sorted(
        (r[1], r[2], Decimal(str(r[3])), Decimal(str(r[4])), r[5])
        for r in state["fills"]  # type: ignore[attr-defined]
    )
    orders = sorted((r[0], r[1], Decimal(str(r[2])), r[3], r[4]) for r in state["orders"])  # type: ignore[attr-defined]
    positions = {s: Decimal(q) for s, q in venue["positions"].items() if Decimal(q)}
    return {"fills": fills, "orders": orders, "positions": positions}


@pytest.mark.timeout(1200)
def test_paper_account_when_killed_50_times_then_same_as_uninterrupted(tmp_path: Path) -> None:
    home = tmp_path / "var"
    settings = load_settings(home=home)
    engine = open_database(settings)
    SqlBarStore(engine).upsert_bars(BundledProvider().history("GOOG"))
    engine.dispose()

    reference = PaperRun(home, "reference", 0)
    reference.wait_trading()
    reference.finish()
    expected = _summary(_account_state(home, "reference"))
    assert len(expected["orders"]) > 300  # type: ignore[arg-type]  # a dense order path

    rng = random.Random(20261122)
    kills = restarts = 0
    while kills < KILLS:
        run = PaperRun(home, "crashed", restarts + 1)
        run.wait_trading()  # every restart reconciles and trades
        restarts += 1
        # Kill once the run has journaled a few more orders (seen in the database), then a
        # random few milliseconds later: the kills land all over the order path, and always
        # while the run is trading, however loaded the machine is.
        target = _order_count(home, "crashed") + rng.randint(1, 4)
        wait_until(
            lambda: run.process.poll() is not None or _order_count(home, "crashed") >= target,  # noqa: B023
            f"{target} journaled orders",
            timeout_s=120,
            interval_s=0.005,
        )
        if run.process.poll() is not None:  # the run completed: nothing left to kill
            run.finish()
            break
        # Not a wait: a random offset so kills land at every point of the order path.
        time.sleep(rng.uniform(0.0, 0.02))
        run.process.send_signal(signal.SIGKILL)
        run.process.wait(timeout=30)
        kills += 1
        _check_invariants(_account_state(home, "crashed"))
    final = PaperRun(home, "crashed", restarts + 1)
    final.wait_trading()
    final.finish()

    state = _account_state(home, "crashed")
    _check_invariants(state)
    assert kills >= KILLS, f"only {kills} kills landed in {restarts} restarts"
    assert _summary(state) == expected
