"""Saved order books (the qMachina book cache): the book as it stood when a replay's
warm-up ended, so that a later replay of the same range starts there instead of replaying
the night before it.

A checkpoint is keyed by ``sha256(product_type:symbol:date:warmup_start_ns:files)[:16]``
where ``files`` lists each file read for the warm-up as ``mtime_ns:size`` (a file changed
or replaced makes a new key; nothing stale is ever loaded). It is a NumPy ``.npz`` of plain
arrays (never pickle: ``allow_pickle=False`` on load), written beside its name and renamed.
A checkpoint that cannot be read is reported and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# where the resumed replay starts: file index, events of that file already in the book
RESUME_KEY = "resume_at"


def cache_key(
    product_type: str, symbol: str, warmup_start_ns: int, files: list[tuple[int, int]]
) -> str:
    """The checkpoint's name; ``files`` holds (mtime_ns, size) of each file read."""
    day = datetime.fromtimestamp(warmup_start_ns / 1e9, tz=UTC).date().isoformat()
    stamps = ",".join(f"{mtime}:{size}" for mtime, size in files)
    text = f"{product_type}:{symbol}:{day}:{warmup_start_ns}:{stamps}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_stamp(path: Path) -> tuple[int, int]:
    """(mtime_ns, size) of a file, the parts of the key that say it is unchanged."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


class BookCache:
    """Checkpoints under ``<lake>/cache/book_engine/``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def load(self, key: str) -> tuple[dict[str, np.ndarray], tuple[int, int]] | None:
        """The saved book's arrays and where to resume (file index, events into it); None
        when there is no checkpoint or it cannot be read (then it is removed)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with path.open("rb") as handle, np.load(handle, allow_pickle=False) as saved:
                arrays = {name: saved[name] for name in saved.files}
            resume = arrays.pop(RESUME_KEY)
            return arrays, (int(resume[0]), int(resume[1]))
        except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as exc:
            log.warning("book cache %s unreadable (%s): rebuilt from the files", path, exc)
            path.unlink(missing_ok=True)
            return None

    def save(self, key: str, state: dict[str, np.ndarray], resume: tuple[int, int]) -> Path:
        """Write a checkpoint atomically; an existing one of the same key is kept (same
        key, same content)."""
        path = self.path(key)
        if path.exists():
            return path
        self.root.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            with partial.open("wb") as handle:
                arrays = {**state, RESUME_KEY: np.array(resume, dtype=np.int64)}
                np.savez(handle, allow_pickle=False, **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path
