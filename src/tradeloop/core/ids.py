"""Deterministic identifiers derived from natural keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence


def natural_key_id(parts: Sequence[object], length: int = 16) -> str:
    """Return ``sha256(natural key)[:length]``; the same key always gives the same id."""
    payload = json.dumps([str(part) for part in parts], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


def sha256_file(path: str) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
