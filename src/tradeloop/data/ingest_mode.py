"""How an ingestion run treats stored history (``tradeloop ingest --mode``)."""

from __future__ import annotations

from enum import StrEnum


class IngestMode(StrEnum):
    DEEP_BACKFILL = "deep_backfill"
    INCREMENTAL = "incremental"
    VERIFY = "verify"
    REPAIR = "repair"
