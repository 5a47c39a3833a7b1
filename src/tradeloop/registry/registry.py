"""The model registry: write-once version folders, aliases that move, audited promotion."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tradeloop.core.errors import DataError, GateRejected
from tradeloop.registry.gates import GateResult
from tradeloop.registry.ports import ModelRecords, ModelVersion, PromotionRecord

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"


class ModelRegistry:
    """Stores versions under ``root/<id>/`` (model.onnx + manifest.json), never rewritten."""

    def __init__(self, root: Path, records: ModelRecords) -> None:
        self.root = root
        self._records = records

    def register(self, name: str, onnx_bytes: bytes, manifest: dict[str, Any]) -> ModelVersion:
        """Write a new immutable version; the id is derived from content, so re-registering
        identical content returns the existing version."""
        if "feature_schema_hash" not in manifest:
            raise DataError("manifest must carry feature_schema_hash")
        sha = hashlib.sha256(onnx_bytes).hexdigest()
        try:
            body = json.dumps(manifest, sort_keys=True, default=str, allow_nan=False)
        except ValueError:
            raise DataError(
                f"manifest of {name} holds NaN or Infinity (metrics: {manifest.get('metrics')}); "
                "refusing to register an unmeasurable model. Fix: check the evaluation data."
            ) from None
        version_id = hashlib.sha256(f"{name}\n{sha}\n{body}".encode()).hexdigest()[:16]
        full_manifest = {
            **manifest,
            "name": name,
            "model_version_id": version_id,
            "model_sha256": sha,
        }
        target = self.root / version_id
        if not target.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{version_id}-", dir=self.root))
            try:
                (staging / MODEL_FILE).write_bytes(onnx_bytes)
                (staging / MANIFEST_FILE).write_text(
                    json.dumps(
                        full_manifest, indent=2, sort_keys=True, default=str, allow_nan=False
                    )
                )
                for item in staging.iterdir():
                    os.chmod(item, 0o444)
                os.replace(staging, target)  # atomic: a version appears whole or not at all
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        version = ModelVersion(
            model_version_id=version_id,
            name=name,
            path=str(target),
            sha256=sha,
            feature_schema_hash=str(manifest["feature_schema_hash"]),
            metrics=dict(manifest.get("metrics", {})),
            manifest=full_manifest,
            ts_created=time.time_ns(),
        )
        self._records.add_version(version)
        return version

    def load_bytes(self, model_version_id: str) -> tuple[bytes, dict[str, Any]]:
        """The model bytes and manifest, after checking the file's checksum."""
        version = self._records.get_version(model_version_id)
        if version is None:
            raise DataError(f"model version {model_version_id!r} is not registered")
        folder = Path(version.path)
        data = (folder / MODEL_FILE).read_bytes()
        if hashlib.sha256(data).hexdigest() != version.sha256:
            raise DataError(
                f"model version {model_version_id}: {folder / MODEL_FILE} does not match its "
                "recorded checksum (corrupt or tampered). Fix: restore it from a backup."
            )
        return data, json.loads((folder / MANIFEST_FILE).read_text())

    def promote(
        self, name: str, model_version_id: str, alias: str, gate: GateResult, actor: str
    ) -> str | None:
        """Point ``alias`` at the version if the gate passed; audit either way.

        Returns the previously pointed version (for rollback); raises GateRejected when the
        gate failed, leaving the alias where it was.
        """
        if self._records.get_version(model_version_id) is None:
            raise DataError(f"model version {model_version_id!r} is not registered")
        record = PromotionRecord(
            name=name,
            model_version_id=model_version_id,
            alias=alias,
            decision="PROMOTED" if gate.passed else "REJECTED",
            previous_version_id=self._records.resolve_alias(name, alias),
            gate=gate.as_dict(),
            actor=actor,
            ts_event=time.time_ns(),
        )
        previous = self._records.point_alias(record)
        if not gate.passed:
            raise GateRejected(
                f"model {name} version {model_version_id} not promoted to {alias!r}: "
                + "; ".join(gate.reasons)
            )
        return previous

    def resolve(self, name: str, alias: str) -> str | None:
        return self._records.resolve_alias(name, alias)
