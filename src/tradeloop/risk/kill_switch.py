"""The kill switch: while its file exists, no order passes."""

from __future__ import annotations

import os
from pathlib import Path


class KillSwitch:
    """File-based switch (``var/KILL_SWITCH``); touch it to halt, remove it to resume."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._where = os.fspath(path)

    def is_engaged(self) -> bool:
        """Present, or impossible to check (permissions, I/O error): both halt trading."""
        try:
            os.stat(self._where)  # checked on every order: no pathlib overhead
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return True

    def engage(self, reason: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(reason + "\n")

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
