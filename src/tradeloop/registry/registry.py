"""The model registry: write-once version folders, aliases that move, audited promotion."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradeloop.core.errors import DataError, GateRejected
from tradeloop.registry.gates import GateResult
from tradeloop.registry.ports import ModelRecords, ModelVersion, PromotionRecord

MODEL_FILE = "model.onnx"  # the file of a single-model version
MANIFEST_FILE = "manifest.json"


class ModelRegistry:
    """Stores versions under ``root/<id>/`` (model files + manifest.json), never rewritten.

    A version holds one or many files (e.g. one ONNX model per target and horizon); the
    manifest records every file's sha256, and loading checks each of them.
    """

    def __init__(self, root: Path, records: ModelRecords) -> None:
        self.root = root
        self._records = records

    def register(
        self, name: str, files: Mapping[str, bytes], manifest: dict[str, Any]
    ) -> ModelVersion:
        """Write a new immutable version; the id is derived from content, so re-registering
        identical content returns the existing version."""
        if "feature_schema_hash" not in manifest:
            raise DataError("manifest must carry feature_schema_hash")
        if not files:
            raise DataError(f"model {name}: a version needs at least one file")
        for filename in files:
            if filename != Path(filename).name or filename in ("", MANIFEST_FILE):
                raise DataError(f"model {name}: {filename!r} is not a plain file name")
        digests = {filename: hashlib.sha256(data).hexdigest() for filename, data in files.items()}
        content = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
        try:
            body = json.dumps(manifest, sort_keys=True, default=str, allow_nan=False)
        except ValueError:
            raise DataError(
                f"manifest of {name} holds NaN or Infinity (metrics: {manifest.get('metrics')}); "
                "refusing to register an unmeasurable model. Fix: check the evaluation data."
            ) from None
        version_id = hashlib.sha256(f"{name}\n{content}\n{body}".encode()).hexdigest()[:16]
        full_manifest = {
            **manifest,
            "name": name,
            "model_version_id": version_id,
            "files": digests,
            "content_sha256": content,
        }
        target = self.root / version_id
        if not target.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{version_id}-", dir=self.root))
            try:
                for filename, data in files.items():
                    (staging / filename).write_bytes(data)
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
            sha256=content,
            feature_schema_hash=str(manifest["feature_schema_hash"]),
            metrics=dict(manifest.get("metrics", {})),
            manifest=full_manifest,
            ts_created=time.time_ns(),
        )
        self._records.add_version(version)
        return version

    def load(self, model_version_id: str) -> tuple[dict[str, bytes], dict[str, Any]]:
        """Every file of the version and its manifest, after checking each checksum."""
        version = self._records.get_version(model_version_id)
        if version is None:
            raise DataError(f"model version {model_version_id!r} is not registered")
        folder = Path(version.path)
        try:
            manifest = json.loads((folder / MANIFEST_FILE).read_text())
            digests: dict[str, str] = manifest["files"]
            files = {filename: (folder / filename).read_bytes() for filename in digests}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"model version {model_version_id}: {folder} is unreadable ({exc}). "
                "Fix: restore it from a backup."
            ) from None
        content = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
        tampered = [
            filename
            for filename, data in files.items()
            if hashlib.sha256(data).hexdigest() != digests[filename]
        ]
        if tampered or content != version.sha256:
            raise DataError(
                f"model version {model_version_id}: {', '.join(tampered) or MANIFEST_FILE} "
                "does not match its recorded checksum (corrupt or tampered). Fix: restore it "
                "from a backup."
            )
        return files, manifest

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
