"""`tradeloop mode` as an operator uses it, on a pinned clock: refusals print every
criterion and change nothing (no backup left behind), a forced move needs a reason and is
shown by `mode status` and by `tradeloop status` (from its snapshot, no database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PINNED = "2026-06-03T18:00:05Z"


def _tl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))
    }
    environment["TRADELOOP_HOME"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED, *args], cwd=root,
        env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_mode_when_gates_fail_then_table_and_nothing_changes_and_force_needs_reason(
    tmp_path: Path,
) -> None:
    skipped = _tl(tmp_path, "mode", "promote", "--account", "main", "--to", "live")
    assert skipped.returncode == 2
    assert "one step at a time" in skipped.stderr
    refused = _tl(tmp_path, "mode", "promote", "--account", "main", "--to", "paper")
    assert refused.returncode == 1, refused.stderr
    assert "agent version" in refused.stdout
    assert "FAIL" in refused.stdout
    assert "refused: main stays in backtest mode" in refused.stdout
    no_reason = _tl(tmp_path, "mode", "promote", "--account", "main", "--to", "paper", "--force")
    assert no_reason.returncode == 2
    assert "--force needs --reason" in no_reason.stderr
    forced = _tl(tmp_path, "mode", "promote", "--account", "main", "--to", "paper", "--force",
                 "--reason", "paper trial of the sma strategy", "--json")  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["forced"] is True
    status = json.loads(_tl(tmp_path, "mode", "status", "--json").stdout)
    [main] = status["accounts"]
    assert main["mode"] == "paper"
    assert main["since"].startswith("2026-06-03T18:00:0")
    names = {c["name"]: c["ok"] for c in main["next_gates"]}
    assert names["days in paper mode"] is False
    live = _tl(tmp_path, "mode", "promote", "--account", "main", "--to", "live")
    assert live.returncode == 1
    criteria = ("days in paper mode", "paper trades", "simulate dry run", "broker authenticated",
                "prediction endpoint", "database integrity")  # fmt: skip
    for criterion in criteria:
        assert criterion in live.stdout
    assert list((tmp_path / "var").glob("backups/*")) == []  # refused: no backup taken
    stack = json.loads(_tl(tmp_path, "status", "--json").stdout)
    assert [a["mode"] for a in stack["exposure"]["accounts"]] == ["paper"]
    demoted = _tl(tmp_path, "mode", "demote", "--account", "main", "--to", "backtest",
                  "--reason", "trial over")  # fmt: skip
    assert demoted.returncode == 0, demoted.stderr
    stack = json.loads(_tl(tmp_path, "status", "--json").stdout)
    assert [a["mode"] for a in stack["exposure"]["accounts"]] == ["backtest"]
