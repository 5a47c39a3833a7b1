"""Feature schemas: the ordered names, the version and the hash that travels with models."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from tradeloop.core.errors import DataError


@dataclass(frozen=True, slots=True)
class FeatureSchema:
    """Ordered feature names plus a version; ``schema_hash`` identifies them exactly."""

    version: str
    names: tuple[str, ...]
    definitions: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"feature names repeat: {self.names}")
        if len(self.names) != len(self.definitions):
            raise ValueError("every feature needs exactly one definition")

    @property
    def schema_hash(self) -> str:
        payload = json.dumps(
            {"version": self.version, "names": self.names, "definitions": self.definitions},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def require_schema(expected_hash: str, actual: FeatureSchema, what: str) -> None:
    """Refuse to mix features of different schemas (train/serve parity)."""
    if expected_hash != actual.schema_hash:
        raise DataError(
            f"{what}: feature_schema_hash {expected_hash[:12]}… does not match the running "
            f"feature code {actual.schema_hash[:12]}… (version {actual.version}). Fix: retrain "
            "the model on the current features, or run the tradeloop version it was built with."
        )
