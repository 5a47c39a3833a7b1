"""The results store: ``runs_meta.parquet`` (what each run was: experiment, serving,
pipeline, dataset, parameters, when) and ``runs.parquet`` (what it scored: trades, hit
rate, PnL, drawdown, Sharpe), one row per run in each, keyed by ``run_id``.

Append-only and idempotent by run id: a run already stored is not stored again. Writers
on one machine take an exclusive lock (``.lock``, flock) around read + append + write
aside + rename, so concurrent runs never lose each other's rows and a reader never sees
a half-written file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

META_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("experiment", pa.string()),
        ("serving", pa.string()),
        ("pipeline", pa.string()),
        ("dataset_id", pa.string()),
        ("params", pa.string()),  # JSON of the sweep point
        ("created_at_ns", pa.int64()),
    ]
)
METRIC_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("trades", pa.int64()),
        ("hit_rate", pa.float64()),
        ("mean_pnl_ticks", pa.float64()),
        ("total_pnl_ticks", pa.float64()),
        ("max_drawdown_ticks", pa.float64()),
        ("sharpe", pa.float64()),
    ]
)


class ResultsDB:
    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self, name: str, schema: pa.Schema) -> pa.Table:
        path = self.root / name
        return pq.read_table(path) if path.exists() else schema.empty_table()

    def _replace(self, name: str, table: pa.Table) -> None:
        partial = self.root / f".{name}.{os.getpid()}.partial"
        pq.write_table(table, partial)
        os.replace(partial, self.root / name)

    def append(self, runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> int:
        """Store (meta, metrics) of each run not stored yet; how many were new."""
        with self._locked():
            meta = self._read("runs_meta.parquet", META_SCHEMA)
            known = set(meta.column("run_id").to_pylist())
            fresh = [(m, r) for m, r in runs if m["run_id"] not in known]
            fresh = list({m["run_id"]: (m, r) for m, r in fresh}.values())
            if not fresh:
                return 0
            new_meta = pa.Table.from_pylist(
                [{**m, "params": json.dumps(m["params"], sort_keys=True)} for m, _ in fresh],
                schema=META_SCHEMA,
            )
            new_runs = pa.Table.from_pylist(
                [{"run_id": m["run_id"], **r} for m, r in fresh], schema=METRIC_SCHEMA
            )
            metrics = self._read("runs.parquet", METRIC_SCHEMA)
            # metrics first: a reader joining on run_id never finds meta without its scores
            self._replace("runs.parquet", pa.concat_tables([metrics, new_runs]))
            self._replace("runs_meta.parquet", pa.concat_tables([meta, new_meta]))
            return len(fresh)

    def runs(self) -> list[dict[str, Any]]:
        """Every run: its meta and metrics, oldest first."""
        meta = self._read("runs_meta.parquet", META_SCHEMA).to_pylist()
        metrics = {r["run_id"]: r for r in self._read("runs.parquet", METRIC_SCHEMA).to_pylist()}
        return [
            {**m, "params": json.loads(m["params"]), **metrics.get(m["run_id"], {})} for m in meta
        ]

    def run(self, run_id: str) -> dict[str, Any] | None:
        matches = [r for r in self.runs() if r["run_id"].startswith(run_id)]
        return matches[0] if len(matches) == 1 else None
