"""The browser desk in headless Chromium against a real ``tradeloop serve api``:

- the desk's first paint (navigation to the accounts table and the first account's equity
  chart) with a paper account of 10,000 fills in the database;
- the live heatmap (200 price rows x 600 columns) while bins arrive at 10 per second
  (the real ESH4 session at speed 1, 100 ms bins): frames per second (requestAnimationFrame
  callbacks while it draws) and the time to decode, compute gold and draw one bin.

    .venv/bin/python benchmarks/bench_web.py [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
FILLS = 10_000
NS_DAY = 86_400 * 10**9


def seed_account(home: Path) -> None:
    """A paper account of 10,000 fills over 40 years of daily closes of one symbol."""
    import numpy as np

    from tradeloop.store.sql.engine import open_engine
    from tradeloop.store.sql.migrate import upgrade
    from tradeloop.store.sql.tables import fills, orders, price_history

    engine = open_engine(f"sqlite:///{home / 'tradeloop.db'}")
    upgrade(engine)
    rng = np.random.default_rng(1)
    start = 1_000_000_000 // 86_400 * NS_DAY * 10**0
    days = np.arange(FILLS) * NS_DAY + start
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, FILLS))
    with engine.begin() as connection:
        connection.execute(price_history.insert(), [
            {"symbol": "XYZ", "ts": int(t), "bar_interval_sec": 86_400, "open": float(c),
             "high": float(c), "low": float(c), "close": float(c), "volume": 1.0,
             "adj_close": float(c), "source": "bench", "run_id": "bench", "ts_ingested": 0}
            for t, c in zip(days, close, strict=True)
        ])  # fmt: skip
        connection.execute(orders.insert(), [
            {"client_order_id": f"o{i}", "run_id": "paper-bench", "mode": "paper", "symbol": "XYZ",
             "side": "BUY" if i % 2 == 0 else "SELL", "order_type": "MARKET", "quantity": 10,
             "status": "FILLED", "reason": "bench", "ts_init": int(days[i]),
             "ts_updated": int(days[i]), "filled_quantity": 10, "average_price": float(close[i]),
             "time_in_force": "GTC", "decision_reason": ""}
            for i in range(FILLS)
        ])  # fmt: skip
        connection.execute(fills.insert(), [
            {"fill_id": f"f{i}", "client_order_id": f"o{i}", "symbol": "XYZ",
             "side": "BUY" if i % 2 == 0 else "SELL", "quantity": 10, "price": float(close[i]),
             "commission": 1.0, "ts_event": int(days[i])}
            for i in range(FILLS)
        ])  # fmt: skip
    folder = home / "paper" / "bench"
    folder.mkdir(parents=True)
    (folder / "account.json").write_text(json.dumps({"name": "bench", "initial_cash": "100000"}))
    (folder / "risk_state.json").write_text(json.dumps({"trading_state": "ACTIVE"}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="bench-web-"))
    home = root / "var"
    home.mkdir()
    shutil.copytree(ROOT / "config" / "instruments", root / "config" / "instruments")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(home)
    seed_account(home)
    tradeloop = [str(ROOT / ".venv" / "bin" / "tradeloop")]
    subprocess.run([*tradeloop, "mbo", "import", str(DAY)], cwd=root, env=environment,
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [*tradeloop, "serve", "api", "--port", str(port)], cwd=root, env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        result = measure(sync_playwright, base, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"desk first paint with {FILLS:,} fills: median {result['desk_paint_ms']:.0f} ms "
          f"(runs {', '.join(f'{v:.0f}' for v in result['desk_paint_runs'])})")  # fmt: skip
    print(f"heatmap 200 x 600 at 10 bins/s: {result['fps']:.1f} frames/s; one bin decoded, "
          f"gold, drawn: {result['bin_ms_median']:.2f} ms median, p99 "
          f"{result['bin_ms_p99']:.2f} ms ({result['bins']} bins)")  # fmt: skip


def measure(sync_playwright: object, base: str, args: argparse.Namespace) -> dict[str, object]:
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        paints = []
        for _ in range(args.runs):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            started = time.perf_counter()
            page.goto(f"{base}/ui/#/desk")
            page.wait_for_selector("#account-detail .chart canvas")
            paints.append((time.perf_counter() - started) * 1000)
            page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/ui/#/stream?speed=1&from=2023-12-25T23:00:00Z")
        page.wait_for_function("window.tradeloopStream && window.tradeloopStream.drawn > 20")
        frames = page.evaluate(
            """(ms) => new Promise((done) => { let n = 0; const t0 = performance.now();
               const tick = () => { n++;
                 if (performance.now() - t0 < ms) requestAnimationFrame(tick);
                 else done(n * 1000 / (performance.now() - t0)); };
               requestAnimationFrame(tick); })""",
            args.seconds * 1000,
        )
        times = sorted(page.evaluate("window.tradeloopStream.binMs"))
        bins = page.evaluate("window.tradeloopStream.bins")
        browser.close()
    return {
        "desk_paint_ms": statistics.median(paints), "desk_paint_runs": paints, "fills": FILLS,
        "fps": frames, "bin_ms_median": statistics.median(times),
        "bin_ms_p99": times[int(len(times) * 0.99) - 1], "bins": bins,
    }  # fmt: skip


if __name__ == "__main__":
    main()
