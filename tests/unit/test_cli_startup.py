"""``tradeloop --help`` and ``--version`` answer before any heavy library is loaded: each
command imports what it needs when it runs, not when the CLI starts; the operator's light
commands (status, halt, resume, models list / show) load neither a model library nor the
application's composition root (read from ``sys.modules``, which is deterministic, not
from a timing; the timings are benchmarks/bench_cli_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "sklearn",
    "lightgbm",
    "onnxruntime",
    "numba",
    "torch",
    "matplotlib",
    "scipy",
    "pandas",
    "polars",
    "sqlalchemy",
    "httpx",
    "tradeloop.bootstrap",
)
# What a command that opens the database may load (SQLAlchemy, the settings and the
# narrow control wiring) but the light ones must not: model and plotting libraries, the
# frame libraries and the whole application's wiring.
MODEL_AND_APP = (
    "sklearn",
    "lightgbm",
    "onnxruntime",
    "numba",
    "torch",
    "matplotlib",
    "scipy",
    "pandas",
    "tradeloop.bootstrap.app",
    "tradeloop.execution",
    "tradeloop.models",
)

PROBE = """
import json, sys
from tradeloop.cli.main import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"], ["status"]])
def test_cli_when_asked_for_help_or_version_then_no_heavy_module_loaded(args: list[str]) -> None:
    loaded = _loaded_by(args, None)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == []


def _loaded_by(args: list[str], project: Path | None) -> set[str]:
    env = None
    if project is not None:
        env = {**_clean_environ(), "TRADELOOP_HOME": str(project / "var")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=project,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _clean_environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "TRADELOOP_DB_URL"}


@pytest.mark.parametrize(
    "args",
    [
        ["halt", "--reason", "probe"],
        ["resume"],
        ["models", "list"],
        ["models", "show", "active"],
        ["halt", "--reason", "probe", "--config", "no-such.yaml"],
    ],
)
def test_cli_operator_commands_when_run_then_no_model_library_or_app_wiring_loaded(
    args: list[str], tmp_path: Path
) -> None:
    upgraded = _loaded_by(["db", "upgrade"], tmp_path)
    assert (tmp_path / "var").is_dir()  # the probe's database is there to be opened
    assert "tradeloop.bootstrap.database" in upgraded

    loaded = _loaded_by(args, tmp_path)

    assert "tradeloop.bootstrap.control" in loaded
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in MODEL_AND_APP))
    assert heavy == []
