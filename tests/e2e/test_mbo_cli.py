"""`tradeloop mbo` as a user runs it: the book of the bundled ES day at a moment, import
into the lake (twice: once), and a wrong file refused with exit 2 and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "src" / "tradeloop" / "data" / "mbo"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_mbo_book_and_import_when_run_then_the_book_and_one_copy_in_the_lake(
    tmp_path: Path,
) -> None:
    # a fresh machine: no database, nothing imported (the bundled day is read)
    shown = _run(tmp_path, "mbo", "book", "--at", "2023-12-26T00:00:00Z", "--depth", "3", "--json")
    assert shown.returncode == 0, shown.stderr
    book = json.loads(shown.stdout)
    assert book["instrument"] == "ESH4"
    assert book["events_applied"] == 68_792
    assert book["bids"][0] == {"price": 4810.0, "size": 22, "orders": 22}
    assert book["asks"][0] == {"price": 4810.25, "size": 28, "orders": 18}
    assert book["anomalies"] == {}
    assert not (tmp_path / "var" / "tradeloop.db").exists()  # MBO commands need no database

    day = DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    first = _run(tmp_path, "mbo", "import", str(day), "--json")
    again = _run(tmp_path, "mbo", "import", str(day), "--json")
    assert first.returncode == again.returncode == 0, first.stderr
    assert json.loads(first.stdout)["files"][0]["imported"] is True
    assert json.loads(again.stdout)["files"][0]["imported"] is False

    wrong = _run(tmp_path, "mbo", "import", str(DATA / "XNAS.ITCH.mbp-10.dbn.zst"))
    assert wrong.returncode == 2
    assert "holds mbp-10 records, not MBO" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    raw = tmp_path / "var" / "lake" / "raw" / "source=databento"
    assert sorted(p.name for p in raw.rglob("*.zst")) == [day.name]
