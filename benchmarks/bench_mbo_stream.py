"""The order-book stream as a client sees it: ``tradeloop serve stream`` (default settings:
100 ms bins, 40 ticks a side, 81 rows per bin, queue of 256) replaying an hour of the
bundled ES session at ``speed=150`` (1,500 bins/s offered) and at ``speed=max``, and a
local WebSocket client (Python ``websockets``) receiving the bins; prints bins/s received,
dropped bins (at max the replay outruns the client: those are dropped and announced, by
design), and send-to-receive latency (the header's ``sent_ns`` to the arrival of the bin's
Arrow payload) p50 / p99.

Peer, same run: a bare ``websockets`` server (no replay, no FastAPI, no Arrow encoding)
sending the same recorded messages back to back, compression off like ours: the
transport's ceiling on this machine.
Server and client are separate processes (2 cores: one each).

    .venv/bin/python benchmarks/bench_mbo_stream.py [--runs 3] [--minutes 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
TRADELOOP = str(Path(sys.executable).with_name("tradeloop"))
START = "2023-12-25T23:00:00Z"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(port: int, path: str) -> None:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not answer")


async def _receive(url: str) -> dict[str, float]:
    latencies: list[int] = []
    bins = dropped = 0
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # runtime_config
        started = time.perf_counter()
        sent_ns = 0
        async for message in ws:
            if isinstance(message, bytes):
                latencies.append(time.time_ns() - sent_ns)
                bins += 1
                continue
            header = json.loads(message)
            if header["type"] == "grid_update":
                sent_ns = header["sent_ns"]
            elif header["type"] == "end":
                dropped = header["dropped"]
                break
        seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "bins": bins,
        "dropped": dropped,
        "bins_per_s": bins / seconds,
        "p50_ms": latencies[len(latencies) // 2] / 1e6,
        "p99_ms": latencies[int(len(latencies) * 0.99)] / 1e6,
    }


def _ours(minutes: int, speed: str) -> dict[str, float]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRADELOOP_HOME": home}
        server = subprocess.Popen(
            [TRADELOOP, "serve", "stream", "--port", str(port)],
            env=env, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        try:
            _wait_healthy(port, "/v1/stream/health")
            end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1703545200 + 60 * minutes))
            url = f"ws://127.0.0.1:{port}/v1/stream?speed={speed}&from={START}&to={end}"
            asyncio.run(_receive(url))  # first run: builds the book cache, warms Numba
            return asyncio.run(_receive(url))
        finally:
            server.terminate()
            server.wait(timeout=30)


PEER = r"""
import asyncio, json, sys, time
import websockets
from websockets.asyncio.server import serve
frames = json.load(open(sys.argv[2]))
payload = bytes.fromhex(frames["payload"])
async def handler(ws):
    await ws.send(json.dumps({"type": "runtime_config"}))
    for header in frames["headers"]:
        await ws.send(json.dumps({**header, "sent_ns": time.time_ns()}))
        await ws.send(payload)
    await ws.send(json.dumps({"type": "end", "bins": len(frames["headers"]), "dropped": 0}))
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), max_size=None, compression=None):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def _peer(bins: int, payload: bytes, header: dict[str, object]) -> dict[str, float]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        frames = Path(tmp) / "frames.json"
        frames.write_text(json.dumps({"payload": payload.hex(), "headers": [header] * bins}))
        server = subprocess.Popen(
            [sys.executable, "-c", PEER, str(port), str(frames)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()
            return asyncio.run(_receive(f"ws://127.0.0.1:{port}/"))
        finally:
            server.terminate()
            server.wait(timeout=30)


async def _one_bin(minutes: int) -> tuple[bytes, dict[str, object]]:
    """A real bin of the stream (its header and payload), for the peer to repeat."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRADELOOP_HOME": home}
        server = subprocess.Popen(
            [TRADELOOP, "serve", "stream", "--port", str(port)],
            env=env, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        try:
            _wait_healthy(port, "/v1/stream/health")
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/v1/stream?speed=max&from=2023-12-25T23:30:00Z",
                max_size=None,
            ) as ws:
                await ws.recv()
                header = json.loads(await ws.recv())
                payload = await ws.recv()
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert isinstance(payload, bytes)
    return payload, header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()
    payload, header = asyncio.run(_one_bin(args.minutes))
    rows: dict[str, list[dict[str, float]]] = {
        "tradeloop 150x": [], "tradeloop max": [], "bare websockets": []
    }  # fmt: skip
    for _ in range(args.runs):
        paced = _ours(args.minutes, "150")
        rows["tradeloop 150x"].append(paced)
        rows["tradeloop max"].append(_ours(args.minutes, "max"))
        rows["bare websockets"].append(_peer(int(paced["bins"]), payload, header))
    print(f"{'server':<16} {'bins':>8} {'dropped':>8} {'bins/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    medians = {}
    for name, runs in rows.items():
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        medians[name] = median
        print(
            f"{name:<16} {median['bins']:>8.0f} {median['dropped']:>8.0f} "
            f"{median['bins_per_s']:>9.0f} {median['p50_ms']:>8.2f} {median['p99_ms']:>8.2f}"
        )
    ratio = medians["tradeloop max"]["bins_per_s"] / medians["bare websockets"]["bins_per_s"]
    print(f"tradeloop max / bare websockets bins/s: {ratio:.2f} (medians of {args.runs} runs)")
    paced = medians["tradeloop 150x"]
    ok = paced["bins_per_s"] >= 1000 and paced["p99_ms"] <= 5 and paced["dropped"] == 0
    print(
        f"target at 150x (>= 1,000 bins/s, none dropped, p99 <= 5 ms): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
