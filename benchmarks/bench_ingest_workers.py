"""When does ``ingest --workers 2`` (a local Dask cluster) pay for itself? The rule in
``tradeloop.ops.dask_fetch`` is checked here: deep_backfill of N symbols, in this process
vs on a new 2-worker local cluster (its start-up included), on

- **local data** (the synthetic provider: what ``--offline`` and the demo read), and
- **an HTTP provider** (Yahoo's chart API served by a local fake server on 127.0.0.1 that
  answers each request after ``--latency`` seconds, a typical round trip to Yahoo; the
  same payload format the real adapter parses).

    .venv/bin/python benchmarks/bench_ingest_workers.py [--symbols 7,40] [--latency 0.3]

Medians of ``--runs`` runs, a fresh SQLite home each; prints serial / cluster ratios
(> 1: the cluster wins) and what the rule chooses for each case.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.bootstrap.app import App, build_app
from tradeloop.core.ids import new_run_id
from tradeloop.core.time import NS_PER_DAY, parse_ns
from tradeloop.data.ingest import IngestMode, IngestPlan
from tradeloop.data.ports import BarRequest
from tradeloop.ops.dask_fetch import dask_fetch_map, local_cluster_pays
from tradeloop.settings import load_settings
from tradeloop.testing.http_server import FakeHttpServer, Reply
from tradeloop.testing.payloads import yahoo_chart

END = "2024-12-31"


def _project(root: Path, symbols: list[str], yahoo_url: str | None) -> App:
    universe = root / "universe.json"
    entries = ",".join(f'{{"symbol": "{s}", "name": "{s}"}}' for s in symbols)
    universe.write_text(f'{{"symbols": [{entries}]}}')
    config = root / "tradeloop.yaml"
    ingest = f"ingest:\n  universe_path: {universe}\n  archive_raw: false\n"
    if yahoo_url:
        ingest += f"  priority: [yahoo]\n  endpoints: {{yahoo: '{yahoo_url}'}}\n"
    config.write_text(ingest)
    return build_app(load_settings(home=root / "var"), config)


def _ingest(app: App, provider: str | None, workers: int | None) -> float:
    plan = IngestPlan(
        mode=IngestMode.DEEP_BACKFILL,
        entries=app.universe().select(None),
        as_of_ns=parse_ns(END),
        provider=provider,
    )
    run_id = new_run_id("bench")
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        fetch_map, processes = None, 1
        if workers:
            dask = stack.enter_context(dask_fetch_map(workers=workers))
            fetch_map, processes = dask.map, dask.workers
        summary = app.ingestor().run(
            plan, fetcher=app.fetcher(run_id, processes), fetch_map=fetch_map, run_id=run_id
        )
    seconds = time.perf_counter() - started
    assert not summary.rejected, [o.reason for o in summary.rejected]
    return seconds


@contextlib.contextmanager
def _yahoo(symbols: list[str], latency: float) -> Iterator[str]:
    synthetic = SyntheticProvider(seed=7)
    end = parse_ns(END) + NS_PER_DAY
    with FakeHttpServer() as server:
        for symbol in symbols:
            bars = synthetic.fetch_bars(BarRequest(symbol, end - 2200 * NS_PER_DAY, end, 86_400))
            server.script(
                f"/v8/finance/chart/{symbol}",
                Reply(200, yahoo_chart(symbol, bars), delay_s=latency),
            )
        yield server.url


def _case(label: str, symbols: list[str], runs: int, latency: float | None) -> None:
    over_http = latency is not None
    times: dict[str, list[float]] = {"serial": [], "cluster": []}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(_yahoo(symbols, latency)) if over_http else None
        for _ in range(runs):
            for how, workers in (("serial", None), ("cluster", 2)):
                with tempfile.TemporaryDirectory() as tmp:
                    app = _project(Path(tmp), symbols, url)
                    provider = None if over_http else "synthetic"
                    times[how].append(_ingest(app, provider, workers))
    serial, cluster = (statistics.median(times[k]) for k in ("serial", "cluster"))
    rule = local_cluster_pays(2, len(symbols), over_http)
    chosen = "cluster" if rule.workers else "serial"
    right = "right" if (chosen == "cluster") == (cluster < serial) else "WRONG"
    print(
        f"{label:28} {len(symbols):4d} {serial:9.2f}s {cluster:9.2f}s {serial / cluster:7.2f}x"
        f"   rule: {chosen} ({right})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", default="7,20,40")
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("TRADELOOP_DB_URL", None)
    logging.disable(logging.WARNING)  # each fresh home says it was migrated
    print(
        f"{'data':28} {'syms':>4} {'serial':>10} {'2 workers':>10} {'ratio':>8}"
        f"   (median of {args.runs}; ratio > 1: the cluster is faster)"
    )
    for count in (int(n) for n in args.symbols.split(",")):
        symbols = [f"S{i:03d}" for i in range(count)]
        _case("local (synthetic)", symbols, args.runs, None)
        _case(f"HTTP ({args.latency:.1f} s per request)", symbols, args.runs, args.latency)


if __name__ == "__main__":
    main()
