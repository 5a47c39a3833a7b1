"""Replay -> book -> grid at scale, the path users run: ``tradeloop mbo replay`` with the
default settings (100 ms bins, 40 ticks a side) on synthetic ES days of 10M and 50M MBO
records (``tradeloop mbo synth``, seed 7), each in a fresh process; prints events/s,
bins/s and peak RSS (``/usr/bin/time``), and whether RSS stays flat (within 10 %) from
10M to 50M events. There is no peer for the grid: qMachina's own replay is not public.

    .venv/bin/python benchmarks/bench_mbo_replay.py [--sizes 10000000,50000000]

The synthetic files are kept in benchmarks/.cache/ (about 13 bytes a record) for reruns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
TRADELOOP = str(Path(sys.executable).with_name("tradeloop"))
INSTRUMENT = str(ROOT / "config" / "instruments" / "esh4.yaml")


def _day(records: int) -> Path:
    path = CACHE / f"es-synthetic-{records}.mbo.dbn.zst"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [TRADELOOP, "mbo", "synth", "--events", str(records), "--out", str(path),
             "--instrument", INSTRUMENT, "--seed", "7"],
            check=True,
        )  # fmt: skip
    return path


def _replay(path: Path) -> tuple[dict[str, float], int]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRADELOOP_HOME": home}
        out = subprocess.run(
            ["/usr/bin/time", "-f", "%M", TRADELOOP, "mbo", "replay", "--file", str(path),
             "--instrument", INSTRUMENT, "--json"],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
    peak_kib = int(out.stderr.strip().splitlines()[-1])
    result: dict[str, float] = json.loads(out.stdout)
    return result, peak_kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000000,50000000")
    args = parser.parse_args()
    peaks = []
    header = ("records", "seconds", "events/s", "bins", "bins/s", "peak RSS")
    print("{:>12} {:>8} {:>12} {:>8} {:>9} {:>10}".format(*header))
    for size in (int(s) for s in args.sizes.split(",")):
        result, peak = _replay(_day(size))
        peaks.append(peak)
        print(
            f"{int(result['events']):>12,} {result['seconds']:>8.1f} "
            f"{result['events'] / result['seconds'] / 1e6:>10.2f} M {int(result['bins']):>8,} "
            f"{result['bins_per_s']:>9,.0f} {peak / 1024:>8.0f} MB"
        )
    if len(peaks) > 1:
        growth = peaks[-1] / peaks[0] - 1
        print(f"peak RSS from the first to the last size: {growth:+.1%} (flat: within 10 %)")


if __name__ == "__main__":
    main()
