"""The live-mode guard: no multi-year fetch while a trading process runs live.

A trading process announces its mode in ``var/TRADING_MODE`` (JSON ``{"mode": ..., "pid":
...}``) and removes it on exit; a file left by a dead process is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tradeloop.core.errors import GovernanceHalt

MAX_LIVE_FETCH_DAYS = 365


class LiveGuard:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def live_pid(self) -> int | None:
        """The pid of a running live trading process, if any."""
        try:
            data = json.loads(self.marker.read_text())
            pid = int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if data.get("mode") != "live":
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def check_fetch(self, symbol: str, history_days: int) -> None:
        """Raise ``GUARD VIOLATION`` for a fetch longer than a year while live."""
        pid = self.live_pid()
        if pid is not None and history_days > MAX_LIVE_FETCH_DAYS:
            raise GovernanceHalt(
                f"GUARD VIOLATION: {history_days}-day fetch for {symbol} while trading process "
                f"{pid} runs in live mode. Fix: use stored data in live mode; backfill with "
                "trading stopped."
            )

    def announce(self, mode: str) -> None:
        """Declare this process's trading mode (for trading entry points)."""
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(json.dumps({"mode": mode, "pid": os.getpid()}))

    def withdraw(self) -> None:
        self.marker.unlink(missing_ok=True)
