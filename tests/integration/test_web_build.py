"""The pages shipped in the package are the build of the sources in web/: a fresh build
(into a temporary folder, from package-lock.json's dependencies) gives the same files,
byte for byte. After changing web/, run `make ui` and commit the result."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "tradeloop" / "api" / "static" / "ui"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }  # fmt: skip


def test_shipped_pages_when_rebuilt_from_the_sources_then_identical(tmp_path: Path) -> None:
    if shutil.which("npx") is None or not (ROOT / "web" / "node_modules").exists():
        pytest.skip("web/node_modules missing: make ui")  # make test installs them first
    done = subprocess.run(
        ["npx", "vite", "build", "--outDir", str(tmp_path / "ui"), "--emptyOutDir",
         "--logLevel", "error"],
        cwd=ROOT / "web", capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert _digests(tmp_path / "ui") == _digests(SHIPPED), "the shipped pages are stale: make ui"
    assert (SHIPPED / "index.html").exists()
