"""The raw-payload archive: what each provider returned, as received, minus credentials."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

_SECRET_KEY = re.compile(r"(api[_-]?key|apikey|token|secret|password|authorization)", re.I)
_SECRET_QUERY = re.compile(r"([?&](?:api[_-]?key|apikey|token|secret)=)[^&\s\"]+", re.I)


def strip_credentials(value: Any) -> Any:
    """A copy of ``value`` with credential-looking keys and URL query values removed."""
    if isinstance(value, dict):
        return {
            key: "***" if _SECRET_KEY.search(str(key)) else strip_credentials(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [strip_credentials(item) for item in value]
    if isinstance(value, str):
        return _SECRET_QUERY.sub(r"\1***", value)
    return value


class RawArchive:
    """Writes ``<root>/<run_id>/<symbol>_<provider>.json.gz``; one file per fetch."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.run_id: str | None = None

    def begin_run(self, run_id: str) -> None:
        self.run_id = run_id

    def save(self, symbol: str, provider: str, payload: Any) -> Path | None:
        """Archive ``payload`` for the current run (no-op outside a run)."""
        if self.run_id is None:
            return None
        folder = self.root / self.run_id
        folder.mkdir(parents=True, exist_ok=True)
        safe_symbol = re.sub(r"[^A-Za-z0-9._=-]", "_", symbol)
        path = folder / f"{safe_symbol}_{provider}.json.gz"
        body = json.dumps(strip_credentials(payload), default=str).encode()
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(gzip.compress(body))
        temporary.replace(path)
        return path
