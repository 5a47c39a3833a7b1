"""Where the scorer's models come from: the registry's aliases, or one pinned folder."""

from __future__ import annotations

import logging
from pathlib import Path

from tradeloop.features.schema import FeatureSchema
from tradeloop.registry.registry import ModelRegistry, read_version_folder
from tradeloop.serving.model_set import ModelSet, load_model_set
from tradeloop.serving.service import Loader, Served

log = logging.getLogger(__name__)


def registry_loader(
    registry: ModelRegistry, name: str, schema: FeatureSchema, *, shadow: bool
) -> Loader:
    """Serve alias ``active`` (and ``shadow``); with no active, the candidate as preview
    only. Every version is fully verified, and one failure fails the whole load."""

    def load() -> Served:
        aliases = registry.aliases(name)

        def version(alias: str) -> ModelSet | None:
            version_id = aliases.get(alias)
            if version_id is None:
                return None
            files, manifest = registry.load(version_id)
            return load_model_set(files, manifest, schema)

        active = version("active")
        return Served(
            active=active,
            shadow=version("shadow") if shadow else None,
            preview=version("candidate") if active is None else None,
            aliases=aliases,
            source=f"registry {registry.root} ({name})",
        )

    return load


def path_loader(folder: Path, schema: FeatureSchema) -> Loader:
    """Serve the version folder at ``folder`` (TRADELOOP_MODEL_PATH) as active, after
    checking every file against the sha256 in its manifest."""

    def load() -> Served:
        files, manifest = read_version_folder(folder)
        models = load_model_set(files, manifest, schema)
        return Served(
            active=models,
            aliases={"active": models.model_version_id},
            source=f"TRADELOOP_MODEL_PATH={folder}",
        )

    return load
