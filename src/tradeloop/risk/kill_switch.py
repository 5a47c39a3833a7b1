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
        """Any entry at the path (a file, a directory, even a dangling symlink), or a path
        impossible to check (permissions, I/O error): each halts trading."""
        try:
            # lstat, not stat: a symlink whose target is gone is still an entry someone put
            # there. Checked on every order: no pathlib overhead.
            os.lstat(self._where)
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return True

    def engage(self, reason: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(reason + "\n")

    def release(self) -> None:
        if self.path.is_dir() and not self.path.is_symlink():
            self.path.rmdir()  # an empty directory someone made to halt
            return
        self.path.unlink(missing_ok=True)
