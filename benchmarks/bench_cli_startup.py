"""Wall time of the commands a user types first, each in a fresh process, against the
interpreter's own floor (``python -c pass``) and a peer CLI of the field on this machine
(backtesting.py has none; ``python -m pip --version`` stands for "a small Python CLI").

    .venv/bin/python benchmarks/bench_cli_startup.py --runs 7

The home is a fresh ``TRADELOOP_HOME`` with a current SQLite database (``db upgrade``),
so the commands that open it do so, as on a user's machine; bytecode is cached as Python
does by default (the first, unmeasured run of each command writes it). Prints medians and
the issue's targets; nothing is asserted (timings are not tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRADELOOP = str(Path(sys.executable).with_name("tradeloop"))
COMMANDS: tuple[tuple[str, list[str], float | None], ...] = (
    ("python -c pass (floor)", [sys.executable, "-c", "pass"], None),
    ("python -m pip --version (peer)", [sys.executable, "-m", "pip", "--version"], None),
    ("tradeloop --help", [TRADELOOP, "--help"], 0.3),
    ("tradeloop --version", [TRADELOOP, "--version"], 0.3),
    ("tradeloop status", [TRADELOOP, "status"], 0.6),
    ("tradeloop models list", [TRADELOOP, "models", "list"], 0.6),
    ("tradeloop halt --reason t", [TRADELOOP, "halt", "--reason", "t"], 0.6),
    ("tradeloop resume", [TRADELOOP, "resume"], None),
    ("tradeloop db status", [TRADELOOP, "db", "status"], None),
)


def wall(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    # exit codes carry state (status says 1 when nothing runs); the time is what counts
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        env = {**os.environ, "TRADELOOP_HOME": str(cwd / "var")}
        env.pop("TRADELOOP_DB_URL", None)
        # as on a user's machine: modules compiled once, then read from __pycache__ (this
        # sandbox sets PYTHONDONTWRITEBYTECODE, which would recompile every module each run)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(
            [TRADELOOP, "db", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True
        )
        floor = None
        print(
            f"{'command':34} {'median':>8} {'min':>8} {'target':>8}"
            f"   ({runs} runs, fresh process each)"
        )
        for label, argv, target in COMMANDS:
            wall(argv, env, cwd)  # warm the page cache, as a user's second command would be
            times = [wall(argv, env, cwd) for _ in range(runs)]
            median = statistics.median(times)
            floor = median if floor is None else floor
            shown = f"{target:.2f} s" if target else ""
            print(
                f"{label:34} {median:7.3f}s {min(times):7.3f}s {shown:>8}"
                f"   {median / floor:4.1f}x the floor"
            )


if __name__ == "__main__":
    main()
