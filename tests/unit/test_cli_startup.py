"""``tradeloop --help`` and ``--version`` answer before any heavy library is loaded: each
command imports what it needs when it runs, not when the CLI starts (read from
``sys.modules``, which is deterministic, not from a timing)."""

from __future__ import annotations

import json
import subprocess
import sys

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
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == []
