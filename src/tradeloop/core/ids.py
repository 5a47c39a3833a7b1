"""Deterministic identifiers derived from natural keys."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence

_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but '"' and '\\'


def natural_key_id(parts: Sequence[object], length: int = 16) -> str:
    """Return ``sha256(natural key)[:length]``; the same key always gives the same id."""
    texts = [str(part) for part in parts]
    if texts and all(_PLAIN.fullmatch(text) for text in texts):
        # What json.dumps gives for plain text, without its cost (ids of every order).
        payload = '["' + '","'.join(texts) + '"]'
    else:
        payload = json.dumps(texts, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


def sha256_file(path: str) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def new_run_id(prefix: str) -> str:
    """``<prefix>-<UTC stamp>-<6 hex>``: sortable by time, unique per call."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return f"{prefix}-{stamp}-{natural_key_id((time.time_ns(), prefix), 6)}"
