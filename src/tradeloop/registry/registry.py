"""The model registry: write-once version folders, aliases that move, audited promotion."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeloop.core.errors import DataError, GateRejected
from tradeloop.registry.gates import GateConfig, GateResult
from tradeloop.registry.governance import GovernanceConfig, evaluate_governance
from tradeloop.registry.ports import AliasMove, ModelRecords, ModelVersion, PromotionRecord

MODEL_FILE = "model.onnx"  # the file of a single-model version
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".aliases.lock"
MOVABLE_ALIASES = frozenset({"candidate", "active", "shadow"})
# Keys register() adds to a manifest; the rest is what the version id was derived from.
_ADDED_KEYS = ("name", "model_version_id", "files", "content_sha256")


# When a version was made is not what it is: identical training gives the same id.
_VOLATILE_KEYS = ("created_at", "run_id")


def _version_id(
    name: str, content_sha256: str, manifest: Mapping[str, Any], volatile: bool = False
) -> str:
    """The id of a version: derived from its name, its files and its manifest (without
    its creation time), so that the same training gives the same id and a manifest edited
    after registration no longer matches the id it is filed under. ``volatile``: the rule
    of earlier releases, which hashed the creation time too (their ids stay valid)."""
    kept = manifest if volatile else {k: v for k, v in manifest.items() if k not in _VOLATILE_KEYS}
    body = json.dumps(kept, sort_keys=True, default=str, allow_nan=False)
    return hashlib.sha256(f"{name}\n{content_sha256}\n{body}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promotion decided and the alias's previous version."""

    decision: str
    previous_version_id: str | None
    gate: GateResult


def read_version_folder(folder: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every file of a version folder and its manifest, each file checked against the sha256
    the manifest records; DataError naming the folder and the bad files."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        digests: dict[str, str] = manifest["files"]
        files = {filename: (folder / filename).read_bytes() for filename in digests}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"model folder {folder} is unreadable ({exc}). Fix: restore it from a backup."
        ) from None
    content = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
    tampered = [
        filename
        for filename, data in files.items()
        if hashlib.sha256(data).hexdigest() != digests[filename]
    ]
    if tampered or content != manifest.get("content_sha256"):
        raise DataError(
            f"model folder {folder}: {', '.join(tampered) or MANIFEST_FILE} does not match its "
            "recorded checksum (corrupt or tampered). Fix: restore it from a backup."
        )
    declared = str(manifest.get("model_version_id", ""))
    original = {k: v for k, v in manifest.items() if k not in _ADDED_KEYS}
    name = str(manifest.get("name"))
    derived = {_version_id(name, content, original, volatile) for volatile in (False, True)}
    if declared != folder.name or declared not in derived:
        raise DataError(
            f"model folder {folder}: {MANIFEST_FILE} was changed after registration (its "
            "content no longer yields the version id; metrics, dates or thresholds may have "
            "been edited). The version is refused everywhere. Fix: restore it from a backup."
        )
    return files, manifest


def _check_registrable(name: str, files: Mapping[str, bytes], manifest: dict[str, Any]) -> None:
    if "feature_schema_hash" not in manifest:
        raise DataError("manifest must carry feature_schema_hash")
    if not files:
        raise DataError(f"model {name}: a version needs at least one file")
    for filename in files:
        if filename != Path(filename).name or filename in ("", MANIFEST_FILE):
            raise DataError(f"model {name}: {filename!r} is not a plain file name")
    reserved = sorted(set(manifest) & set(_ADDED_KEYS))
    if reserved:
        raise DataError(f"model {name}: manifest keys {reserved} are set by the registry")
    try:
        json.dumps(manifest, sort_keys=True, default=str, allow_nan=False)
    except ValueError:
        raise DataError(
            f"manifest of {name} holds NaN or Infinity (metrics: {manifest.get('metrics')}); "
            "refusing to register an unmeasurable model. Fix: check the evaluation data."
        ) from None


def _canonical(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, sort_keys=True, default=str)


class ModelRegistry:
    """Stores versions under ``root/<id>/`` (model files + manifest.json), never rewritten.

    A version holds one or many files (e.g. one ONNX model per target and horizon); the
    manifest records every file's sha256, and loading checks each of them.
    """

    def __init__(
        self,
        root: Path,
        records: ModelRecords,
        governance: GovernanceConfig | None = None,
        baseline: GateConfig | None = None,
    ) -> None:
        self.root = root
        self._records = records
        self._governance = governance or GovernanceConfig()
        self._baseline = baseline or GateConfig()

    def register(
        self, name: str, files: Mapping[str, bytes], manifest: dict[str, Any]
    ) -> ModelVersion:
        """Write a new immutable version; the id is derived from content, so re-registering
        identical content returns the existing version."""
        _check_registrable(name, files, manifest)
        digests = {filename: hashlib.sha256(data).hexdigest() for filename, data in files.items()}
        content = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
        version_id = _version_id(name, content, manifest)
        full_manifest = {
            **manifest,
            "name": name,
            "model_version_id": version_id,
            "files": digests,
            "content_sha256": content,
        }
        self._write_folder(version_id, files, full_manifest)
        version = ModelVersion(
            model_version_id=version_id,
            name=name,
            # Relative to the registry root: a copied or restored TRADELOOP_HOME keeps
            # loading its own folders, never the original's.
            path=version_id,
            sha256=content,
            feature_schema_hash=str(manifest["feature_schema_hash"]),
            metrics=dict(manifest.get("metrics", {})),
            manifest=full_manifest,
            ts_created=time.time_ns(),
        )
        self._records.add_version(version)
        return self._resolved(version)

    def _write_folder(
        self, version_id: str, files: Mapping[str, bytes], manifest: dict[str, Any]
    ) -> None:
        """The version's folder, read-only, appearing whole or not at all (a twin that
        registered the same content first wins)."""
        target = self.root / version_id
        if target.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version_id}-", dir=self.root))
        try:
            for filename, data in files.items():
                (staging / filename).write_bytes(data)
            (staging / MANIFEST_FILE).write_text(
                json.dumps(manifest, indent=2, sort_keys=True, default=str, allow_nan=False)
            )
            for item in staging.iterdir():
                os.chmod(item, 0o444)
            os.replace(staging, target)  # atomic: a version appears whole or not at all
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not (target / MANIFEST_FILE).exists():  # not a twin that won the race
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _resolved(self, version: ModelVersion) -> ModelVersion:
        """``version`` with its folder as a path under this registry's root (a record of an
        older release holds an absolute path: its folder name under this root counts)."""
        recorded = Path(version.path)
        folder = self.root / (recorded.name if recorded.is_absolute() else recorded)
        return dataclasses.replace(version, path=str(folder))

    def load(self, model_version_id: str) -> tuple[dict[str, bytes], dict[str, Any]]:
        """Every file of the version and its manifest, after checking each checksum."""
        version = self._records.get_version(model_version_id)
        if version is None:
            raise DataError(f"model version {model_version_id!r} is not registered")
        files, manifest = read_version_folder(Path(self._resolved(version).path))
        if manifest.get("content_sha256") != version.sha256 or _canonical(manifest) != (
            _canonical(version.manifest)
        ):
            raise DataError(
                f"model version {model_version_id}: {MANIFEST_FILE} does not match the "
                "registry's record (replaced or tampered). Fix: restore it from a backup."
            )
        return files, manifest

    def promote(
        self,
        name: str,
        model_version_id: str,
        alias: str,
        *,
        actor: str,
        reason: str = "",
        force: bool = False,
    ) -> Promotion:
        """Point ``alias`` at a version, audited whatever the outcome.

        ``active`` passes the governance gates first (against the current active, read
        under the same lock that applies the move); the old active becomes ``prev``.
        ``candidate`` and ``shadow`` need an intact version of the same name. ``force``
        overrides failed gates of ``active`` and needs a reason; the audit keeps both.
        Raises GateRejected (alias unchanged) when the gates fail.
        """
        if alias not in MOVABLE_ALIASES:
            raise DataError(
                f"alias {alias!r} cannot be set; use one of {sorted(MOVABLE_ALIASES)}"
                " (prev moves by itself; use rollback)"
            )
        if force and not reason.strip():
            raise DataError("a forced promotion needs --reason (it is kept in the audit)")
        version = self._records.get_version(model_version_id)
        if version is None:
            raise DataError(f"model version {model_version_id!r} is not registered")
        if version.name != name:
            raise DataError(f"version {model_version_id} belongs to {version.name!r}, not {name!r}")
        _, manifest = self.load(model_version_id)  # integrity: every checksum
        now = time.time_ns()

        def decide(current: dict[str, str]) -> AliasMove:
            previous = current.get(alias)
            if alias == "active":
                active_manifest = None
                if previous is not None and previous != model_version_id:
                    active_version = self._records.get_version(previous)
                    active_manifest = active_version.manifest if active_version else None
                gate = evaluate_governance(
                    manifest, active_manifest, self._governance, self._baseline
                )
            else:
                gate = GateResult(True, {"intact": True}, (), {"intact": "checksums verified"})
            decision = "PROMOTED" if gate.passed else ("FORCED" if force else "REJECTED")
            updates = {alias: model_version_id}
            if alias == "active" and previous and previous != model_version_id:
                updates["prev"] = previous
            record = PromotionRecord(
                name=name,
                model_version_id=model_version_id,
                alias=alias,
                decision=decision,
                previous_version_id=previous,
                gate={**gate.as_dict(), "reason": reason},
                actor=actor,
                ts_event=now,
            )
            return AliasMove(record, updates)

        with self._lock():
            move = self._records.move_aliases(name, decide)
        gate_dict = move.record.gate
        gate = GateResult(
            bool(gate_dict["passed"]),
            dict(gate_dict["checks"]),
            tuple(gate_dict["reasons"]),
            dict(gate_dict.get("details", {})),
        )
        outcome = Promotion(move.record.decision, move.record.previous_version_id, gate)
        if not move.applied:
            raise GateRejected(
                f"model {name} version {model_version_id} not promoted to {alias!r}: "
                + "; ".join(gate.reasons),
                outcome,
            )
        return outcome

    def rollback(
        self, name: str, *, actor: str, reason: str = "", expected_active: str | None = None
    ) -> Promotion:
        """Repoint ``active`` to ``prev`` (and ``prev`` to the old active); audited.

        ``expected_active``: the active version the caller saw when it decided to roll back.
        If another rollback or promotion moved ``active`` meanwhile, nothing changes and a
        DataError says where it points now: two rollbacks at once never undo each other.
        """

        def decide(current: dict[str, str]) -> AliasMove:
            active, prev = current.get("active"), current.get("prev")
            if expected_active is not None and active != expected_active:
                raise DataError(
                    f"model {name}: 'active' already moved from {expected_active} to {active} "
                    "(another rollback or promotion ran first); nothing changed. Fix: check "
                    "`tradeloop models list`, then roll back again if you still mean to"
                )
            if prev is None or active is None:
                raise DataError(f"model {name}: nothing to roll back to (no 'prev' alias)")
            self.load(prev)  # never roll back onto a damaged version
            record = PromotionRecord(
                name=name,
                model_version_id=prev,
                alias="active",
                decision="ROLLBACK",
                previous_version_id=active,
                gate={
                    "passed": True,
                    "checks": {"intact": True},
                    "reasons": [],
                    "details": {"intact": "checksums verified"},
                    "reason": reason,
                },
                actor=actor,
                ts_event=time.time_ns(),
            )
            return AliasMove(record, {"active": prev, "prev": active})

        with self._lock():
            move = self._records.move_aliases(name, decide)
        gate = GateResult(True, {"intact": True}, (), {"intact": "checksums verified"})
        return Promotion("ROLLBACK", move.record.previous_version_id, gate)

    def resolve(self, name: str, alias: str) -> str | None:
        return self._records.resolve_alias(name, alias)

    def aliases(self, name: str) -> dict[str, str]:
        return self._records.aliases(name)

    def names(self) -> list[str]:
        """Every model family with a registered version (the demo's, the event models, ...)."""
        return self._records.names()

    def find(self, ref: str, name: str | None = None) -> ModelVersion:
        """The version ``ref`` names: an alias (active, candidate, ...) or a version id
        (or a unique prefix), in family ``name`` or, without it, in whichever family holds
        it; DataError naming the families when it is ambiguous or absent."""
        families = [name] if name else self.names()
        found: dict[str, str] = {}
        for family in families:
            aliased = self.resolve(family, ref)
            if aliased:
                found[aliased] = family
        if not found:
            for family in families:
                for version in self.versions(family):
                    if version.model_version_id.startswith(ref):
                        found[version.model_version_id] = family
        if len(found) == 1:
            return self.version(next(iter(found)))
        where = f"model {name}" if name else f"models {', '.join(families) or '(none yet)'}"
        if not found:
            raise DataError(
                f"{where}: no alias or version matches {ref!r}; see tradeloop models list"
            )
        places = ", ".join(f"{vid} ({family})" for vid, family in sorted(found.items()))
        raise DataError(f"{ref!r} is ambiguous: {places}. Fix: add --name or a longer id")

    def versions(self, name: str) -> list[ModelVersion]:
        return [self._resolved(v) for v in self._records.list_versions(name)]

    def version(self, model_version_id: str) -> ModelVersion:
        version = self._records.get_version(model_version_id)
        if version is None:
            raise DataError(f"model version {model_version_id!r} is not registered")
        return self._resolved(version)

    def history(self, name: str, limit: int = 50) -> list[PromotionRecord]:
        return self._records.history(name, limit)

    def check(self, name: str, model_version_id: str) -> GateResult:
        """The governance gates of promoting ``model_version_id`` to active, without moving."""
        _, manifest = self.load(model_version_id)
        active = self._records.resolve_alias(name, "active")
        active_version = self._records.get_version(active) if active else None
        active_manifest = (
            active_version.manifest if active_version and active != model_version_id else None
        )
        return evaluate_governance(manifest, active_manifest, self._governance, self._baseline)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # Serializes alias moves of every process sharing this registry folder; the SQL
        # store adds a database lock for PostgreSQL users on several hosts.
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
