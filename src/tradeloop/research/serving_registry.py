"""The serving registry: published servings (immutable files) and the aliases that point
at them (repointed, never rewritten).

- A **PublishedServingSpec** is a ServingSpec frozen with its runtime snapshot (the
  instrument, the pipeline, the gold parameters, the signal with its parameters, the
  evaluation, the dataset and the run it came from, its metrics). Its id is the sha256 of
  both; its file ``serving_versions/<id>.yaml`` is written once (aside, then renamed) and
  never changed.
- An **alias** (``es_live``, ``staging`` ...) points at one published serving; activating
  another is a new activation row (and an audit event): a rollback is a repoint to an
  older version.
- **Promotion** (a run -> a published serving -> an alias) runs
  ``validate_serving_spec_preflight`` before anything is written: a spec that would not
  run is refused with every reason, and nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Protocol

import yaml

from tradeloop.core.config import load_yaml_mapping, parse_config
from tradeloop.core.errors import ConfigError
from tradeloop.core.time import iso_from_ns
from tradeloop.research.config_tree import ConfigTree
from tradeloop.research.specs import NAME, PublishedServingSpec, SignalSpec


class ServingActivations(Protocol):
    """Alias -> serving id, append-only (the SQL adapter: ``serving_activation``)."""

    def activate(
        self, alias: str, serving_id: str, actor: str, reason: str, ts_ns: int
    ) -> str | None: ...

    def aliases(self) -> dict[str, str]: ...

    def history(self, alias: str) -> list[dict[str, object]]: ...


class PreflightError(ConfigError):
    """A serving that would not run: nothing was published or activated."""


def validate_serving_spec_preflight(published: PublishedServingSpec, tree: ConfigTree) -> None:
    """Every reason ``published`` would not run on this project; PreflightError listing
    them all, before anything is written."""
    problems: list[str] = []
    spec, snapshot = published.spec, published.runtime_snapshot
    try:
        PublishedServingSpec.model_validate(published.model_dump())
    except ValueError as exc:
        problems.append(f"the spec does not validate: {exc}")
    if spec.pipeline not in tree.specs.get("pipelines", {}):
        problems.append(f"pipeline {spec.pipeline!r} is not in {tree.root / 'pipelines'}/")
    else:
        pipeline = tree.pipeline(spec.pipeline)
        instrument_file = tree.project / pipeline.instrument
        if not instrument_file.exists():
            problems.append(f"instrument file {instrument_file} does not exist")
        else:
            on_disk = load_yaml_mapping(instrument_file)
            recorded = snapshot.get("instrument", {})
            for key in ("symbol", "dataset", "tick_size"):
                if on_disk.get(key) != recorded.get(key):
                    problems.append(
                        f"instrument {key}: the snapshot says {recorded.get(key)!r}, "
                        f"{instrument_file} says {on_disk.get(key)!r}"
                    )
    for key in ("instrument", "signal", "gold", "eval"):
        if key not in snapshot:
            problems.append(f"runtime snapshot has no {key!r}")
    if snapshot.get("signal") != spec.signal.resolved():
        problems.append("runtime snapshot's signal differs from the spec's")
    if problems:
        raise PreflightError(
            f"serving {published.name} ({published.serving_id}) refused before publishing: "
            + "; ".join(problems)
            + ". Fix: correct the serving or its pipeline, then promote again"
        )


class ServingRegistry:
    def __init__(self, tree: ConfigTree, activations: ServingActivations) -> None:
        self.tree = tree
        self.activations = activations
        self.folder = tree.root / "serving_versions"

    def versions(self) -> list[PublishedServingSpec]:
        found = [self._read(p) for p in sorted(self.folder.glob("*.yaml"))]
        return sorted(found, key=lambda v: v.published_at)

    def _read(self, path: Path) -> PublishedServingSpec:
        return parse_config(PublishedServingSpec, load_yaml_mapping(path), str(path))

    def version(self, serving_id: str) -> PublishedServingSpec:
        path = self.folder / f"{serving_id}.yaml"
        if not path.exists():
            raise ConfigError(
                f"no published serving {serving_id!r} in {self.folder}/. Fix: tradeloop "
                "research servings lists them"
            )
        return self._read(path)

    def resolve(self, alias_or_id: str) -> PublishedServingSpec:
        """An alias's current serving, or a published serving by id."""
        target = self.activations.aliases().get(alias_or_id, alias_or_id)
        return self.version(target)

    def publish(self, published: PublishedServingSpec) -> bool:
        """Write the version's file once (aside, then renamed); False when it exists."""
        validate_serving_spec_preflight(published, self.tree)
        path = self.folder / f"{published.serving_id}.yaml"
        if path.exists():
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            partial.write_text(yaml.safe_dump(published.model_dump(mode="json"), sort_keys=False))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return True

    def activate(
        self, alias: str, serving_id: str, actor: str, reason: str, ts_ns: int
    ) -> str | None:
        """Point ``alias`` at a published serving (a rollback is this with an older id);
        the serving it pointed at before."""
        import re

        if not re.match(NAME, alias):
            raise ConfigError(f"alias {alias!r}: use lowercase letters, digits, _ . -")
        self.version(serving_id)  # it must exist
        return self.activations.activate(alias, serving_id, actor, reason, ts_ns)

    def promote(
        self, run: dict[str, Any], dataset_manifest: dict[str, Any], alias: str, actor: str,
        reason: str, ts_ns: int,
    ) -> tuple[PublishedServingSpec, str | None]:  # fmt: skip
        """A run's serving, with the run's signal parameters, published and activated
        under ``alias``: (the published serving, the one the alias had before)."""
        published = published_from_run(self.tree, run, dataset_manifest, ts_ns)
        validate_serving_spec_preflight(published, self.tree)  # before any write
        self.publish(published)
        previous = self.activate(alias, published.serving_id, actor, reason, ts_ns)
        return published, previous


def published_from_run(
    tree: ConfigTree, run: dict[str, Any], dataset_manifest: dict[str, Any], ts_ns: int
) -> PublishedServingSpec:
    serving = tree.serving(run["serving"])
    signal_params = dict(serving.signal.resolved())
    eval_params = tree.experiment(run["experiment"]).eval.model_dump()
    for key, value in run["params"].items():
        area, _, name = key.partition(".")
        (signal_params if area == "signal" else eval_params)[name] = value
    spec = serving.with_changes(signal=SignalSpec(name=serving.signal.name, params=signal_params))
    snapshot = {
        "instrument": dataset_manifest["instrument"],
        "pipeline": tree.pipeline(serving.pipeline).model_dump(mode="json"),
        "gold": spec.gold.model_dump(mode="json"),
        "signal": spec.signal.resolved(),
        "eval": eval_params,
        "dataset_id": run["dataset_id"],
        "run_id": run["run_id"],
        "metrics": {k: run[k] for k in ("trades", "hit_rate", "total_pnl_ticks", "sharpe")},
    }
    text = json.dumps({"spec": spec.model_dump(mode="json"), "snapshot": snapshot}, sort_keys=True)
    return PublishedServingSpec(
        serving_id=hashlib.sha256(text.encode()).hexdigest()[:16],
        name=spec.name,
        published_at=iso_from_ns(ts_ns),
        spec=spec,
        runtime_snapshot=snapshot,
    )


def diff_servings(a: PublishedServingSpec, b: PublishedServingSpec) -> list[dict[str, Any]]:
    """Where two published servings differ: [{path, a, b}] over spec and snapshot."""
    out: list[dict[str, Any]] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y)):
                walk(x.get(key), y.get(key), f"{path}.{key}" if path else str(key))
        elif x != y:
            out.append({"path": path, "a": x, "b": y})

    walk(
        {"spec": a.spec.model_dump(mode="json"), "runtime_snapshot": a.runtime_snapshot},
        {"spec": b.spec.model_dump(mode="json"), "runtime_snapshot": b.runtime_snapshot},
        "",
    )
    return out


__all__ = [
    "PreflightError",
    "ServingActivations",
    "ServingRegistry",
    "diff_servings",
    "published_from_run",
    "validate_serving_spec_preflight",
]
