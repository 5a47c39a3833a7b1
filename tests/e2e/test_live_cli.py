"""`tradeloop run --mode live` against a fake Alpaca on 127.0.0.1: governed, reconciled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tradeloop.testing.fake_alpaca import KEY, SECRET, FakeAlpaca


def _run(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRADELOOP_", "EXCHANGE_", "ALPACA_"))
    }
    environment["TRADELOOP_HOME"] = str(root / "var")
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# The accounts here go live by --force (no paper record in a test), on a ramp that deploys
# the whole account from week 1 (the default starts at 2,000 USD).
FULL_RAMP = "promotion:\n  ramp:\n  - {max_deployed_usd: null, max_position_size: 0.2}\n"


def _promoted(root: Path, account: str) -> None:
    for to in ("paper", "live"):
        promoted = _run(root, "mode", "promote", "--account", account, "--to", to, "--force",
                        "--reason", "test account")  # fmt: skip
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr


def _ingested_spy(root: Path) -> None:
    """A desk whose universe is SPY, ingested offline up to 2024-03-28 (governed ACTIVE)."""
    (root / "config").mkdir()
    (root / "config" / "universe.json").write_text(json.dumps({"symbols": ["SPY"]}))
    (root / "tradeloop.yaml").write_text("ingest:\n  offline: true\n" + FULL_RAMP)
    assert _run(root, "ingest", "--end", "2024-03-28").returncode == 0


def test_live_when_venue_configured_then_orders_reach_it_and_fills_reconcile(
    tmp_path: Path,
) -> None:
    _ingested_spy(tmp_path)
    live = (
        "run",
        "--mode",
        "live",
        "--feed",
        "live",
        "--account",
        "l",
        "--tickers",
        "SPY",
        "--fast",
        "3",
        "--slow",
        "8",
        "--run-once",
        "--json",
    )

    unset = _run(tmp_path, *live)
    assert unset.returncode == 2
    assert "EXCHANGE_VENUE" in unset.stderr
    with FakeAlpaca() as fake:
        never_promoted = _run(tmp_path, *live, EXCHANGE_VENUE="alpaca", EXCHANGE_MODE="paper",
                              EXCHANGE_BASE_URL=fake.url, ALPACA_API_KEY_ID=KEY,
                              ALPACA_API_SECRET_KEY=SECRET)  # fmt: skip
    assert never_promoted.returncode == 2
    assert "account l is in backtest mode" in never_promoted.stderr
    assert not fake.orders
    _promoted(tmp_path, "l")
    replay = _run(tmp_path, *live[:3], "--feed", "replay", "--tickers", "SPY")
    assert replay.returncode == 2
    assert "real money" in replay.stderr

    with FakeAlpaca() as fake:
        env = {
            "EXCHANGE_VENUE": "alpaca",
            "EXCHANGE_MODE": "paper",
            "EXCHANGE_BASE_URL": fake.url,
            "ALPACA_API_KEY_ID": KEY,
            "ALPACA_API_SECRET_KEY": SECRET,
        }
        first = _run(tmp_path, *live, **env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["orders_sent"] == 0  # history only: trades from now on
        more = _run(tmp_path, "ingest", "--mode", "incremental", "--end", "2024-06-28")
        assert more.returncode == 0, more.stderr
        second = _run(tmp_path, *live, **env)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["orders_sent"] > 0, second.stdout
        assert fake.orders, "orders reached the venue"
        for client_id, order in list(fake.orders.items())[:2]:
            fake.fill(client_id, order.body["qty"], "500")
        third = _run(tmp_path, *live, **env)  # start: reconcile applies the fills it missed
        assert third.returncode == 0, third.stderr
        held = {s: float(q) for s, q in json.loads(third.stdout)["positions"].items()}
        assert held == {s: float(q) for s, q in fake.positions().items()}
        everything = first.stdout + first.stderr + second.stdout + second.stderr + third.stderr
        assert SECRET not in everything


def test_live_on_bybit_when_testnet_configured_then_orders_signed_and_fills_reconcile(
    tmp_path: Path,
) -> None:
    from tradeloop.testing.fake_bybit import KEY as BYBIT_KEY
    from tradeloop.testing.fake_bybit import SECRET as BYBIT_SECRET
    from tradeloop.testing.fake_bybit import FakeBybit

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "universe.json").write_text(json.dumps({"symbols": ["BTCUSDT"]}))
    (tmp_path / "tradeloop.yaml").write_text(
        "ingest:\n  offline: true\nvenues:\n  bybit_v5:\n    post_only: false\n" + FULL_RAMP
    )
    assert _run(tmp_path, "ingest", "--end", "2024-03-28").returncode == 0
    _promoted(tmp_path, "b")
    live = (
        "run",
        "--mode",
        "live",
        "--feed",
        "live",
        "--account",
        "b",
        "--tickers",
        "BTCUSDT",
        "--fast",
        "3",
        "--slow",
        "8",
        "--run-once",
        "--json",
    )
    with FakeBybit(equity="50000") as fake:
        env = {
            "EXCHANGE_VENUE": "bybit_v5",
            "EXCHANGE_MODE": "paper",
            "EXCHANGE_BASE_URL": fake.url,
            "BYBIT_API_KEY": BYBIT_KEY,
        }
        missing = _run(tmp_path, *live, **env)
        assert missing.returncode == 2
        assert "BYBIT_API_SECRET" in missing.stderr
        env["BYBIT_API_SECRET"] = BYBIT_SECRET
        first = _run(tmp_path, *live, **env)
        assert first.returncode == 0, first.stderr
        opened = json.loads((tmp_path / "var" / "live" / "b" / "account.json").read_text())
        assert float(opened["initial_cash"]) == 50000.0  # the broker's equity, not a default
        more = _run(tmp_path, "ingest", "--mode", "incremental", "--end", "2024-06-28")
        assert more.returncode == 0, more.stderr
        second = _run(tmp_path, *live, **env)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["orders_sent"] > 0, second.stdout
        for link_id, order in list(fake.orders.items())[:2]:
            fake.fill(link_id, order.body["qty"], "500", fee="0.1")
        third = _run(tmp_path, *live, **env)
        assert third.returncode == 0, third.stderr
        held = {s: float(q) for s, q in json.loads(third.stdout)["positions"].items()}
        assert held == {s: float(q) for s, q in fake.positions().items()}
        everything = first.stdout + first.stderr + second.stdout + second.stderr + third.stderr
        assert BYBIT_SECRET not in everything


def test_live_when_broker_refuses_keys_or_is_unreachable_then_one_line_and_exit_3(
    tmp_path: Path,
) -> None:
    _ingested_spy(tmp_path)
    live = (
        "run",
        "--mode",
        "live",
        "--feed",
        "live",
        "--account",
        "l",
        "--tickers",
        "SPY",
        "--run-once",
    )
    _promoted(tmp_path, "l")
    _promoted(tmp_path, "d")
    with FakeAlpaca() as fake:
        refused = _run(
            tmp_path,
            *live,
            EXCHANGE_VENUE="alpaca",
            EXCHANGE_BASE_URL=fake.url,
            ALPACA_API_KEY_ID=KEY,
            ALPACA_API_SECRET_KEY="not-the-secret",
        )
    assert refused.returncode == 3
    assert "alpaca account: HTTP 401" in refused.stderr
    assert "Fix: check ALPACA_API_KEY_ID / ALPACA_API_SECRET_KEY" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "not-the-secret" not in refused.stderr
    down = _run(
        tmp_path,
        "daemon",
        "--mode",
        "live",
        "--account",
        "d",
        "--tickers",
        "SPY",
        EXCHANGE_VENUE="alpaca",
        EXCHANGE_BASE_URL="http://127.0.0.1:9",
        ALPACA_API_KEY_ID=KEY,
        ALPACA_API_SECRET_KEY=SECRET,
    )
    assert down.returncode == 3
    assert "alpaca GET /v2/account: connection failed" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
