"""The research config tree (``research/configs/`` in a project): every YAML file of
``pipelines/``, ``serving/``, ``serving_versions/``, ``experiments/`` and
``gold_campaigns/`` validated, with its references followed. A problem is reported as
``file:line: key: reason. Fix: ...``, every problem of the tree at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from tradeloop.core.config import FrozenConfig, load_yaml_mapping
from tradeloop.core.errors import ConfigError
from tradeloop.research.specs import (
    KINDS,
    ExperimentSpec,
    GoldCampaignSpec,
    PipelineSpec,
    ServingSpec,
)

S = TypeVar("S", bound=FrozenConfig)
DEFAULT_ROOT = Path("research") / "configs"


def _line_of(text: str, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the key at ``loc`` in the YAML ``text`` (the deepest part of it
    that exists; line 1 when nothing does)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return 1
    line = 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


@dataclass
class ConfigTree:
    """The validated tree: specs by kind and name."""

    root: Path
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def project(self) -> Path:
        """Where relative paths in specs start: the folder holding ``research/``."""
        return self.root.resolve().parent.parent

    def get(self, kind: str, name: str, model: type[S]) -> S:
        found = self.specs.get(kind, {}).get(name)
        if found is None:
            known = ", ".join(sorted(self.specs.get(kind, {}))) or "none"
            raise ConfigError(
                f"no {kind[:-1] if kind.endswith('s') else kind} named {name!r} in "
                f"{self.root / kind}/ (there: {known}). Fix: check the name, or add "
                f"{self.root / kind / name}.yaml"
            )
        assert isinstance(found, model)
        return found

    def experiment(self, name: str) -> ExperimentSpec:
        return self.get("experiments", name, ExperimentSpec)

    def serving(self, name: str) -> ServingSpec:
        return self.get("serving", name, ServingSpec)

    def pipeline(self, name: str) -> PipelineSpec:
        return self.get("pipelines", name, PipelineSpec)

    def chain(self, experiment: str) -> tuple[ExperimentSpec, ServingSpec, PipelineSpec]:
        spec = self.experiment(experiment)
        serving = self.serving(spec.serving)
        return spec, serving, self.pipeline(serving.pipeline)


def _problems_of(path: Path, kind: str) -> tuple[Any, list[str]]:
    try:
        data = load_yaml_mapping(path)
    except ConfigError as exc:
        return None, [str(exc)]
    text = path.read_text(encoding="utf-8")
    try:
        spec = KINDS[kind].model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(str(p) for p in loc) or "<root>"
            reason = (
                "unknown key"
                if error["type"] == "extra_forbidden"
                else f"{error['msg']} (got {error.get('input')!r})"
            )
            problems.append(
                f"{path}:{_line_of(text, loc)}: {key}: {reason}. Fix: see "
                f"research/configs/README.md for the {kind} keys"
            )
        return None, problems
    name = getattr(spec, "serving_id" if kind == "serving_versions" else "name", None)
    if name != path.stem:
        return spec, [
            f"{path}:{_line_of(text, ('name',))}: name: {name!r} differs from the file "
            f"name. Fix: name it {path.stem!r} or rename the file"
        ]
    return spec, []


def _reference_problems(tree: ConfigTree) -> list[str]:
    problems = []
    checks: list[tuple[str, str, str]] = [
        ("serving", "pipeline", "pipelines"),
        ("experiments", "serving", "serving"),
        ("gold_campaigns", "serving", "serving"),
    ]
    for kind, key, target in checks:
        for name, spec in tree.specs.get(kind, {}).items():
            wanted = getattr(spec, key)
            if wanted is not None and wanted not in tree.specs.get(target, {}):
                path = tree.root / kind / f"{name}.yaml"
                line = _line_of(path.read_text(encoding="utf-8"), (key,))
                problems.append(
                    f"{path}:{line}: {key}: {wanted!r} is not in {tree.root / target}/. "
                    f"Fix: add {target}/{wanted}.yaml or name one that exists"
                )
    for name, campaign in tree.specs.get("gold_campaigns", {}).items():
        assert isinstance(campaign, GoldCampaignSpec)
        for index, pipeline in enumerate(campaign.pipelines):
            if pipeline not in tree.specs.get("pipelines", {}):
                path = tree.root / "gold_campaigns" / f"{name}.yaml"
                line = _line_of(path.read_text(encoding="utf-8"), ("pipelines", index))
                problems.append(
                    f"{path}:{line}: pipelines.{index}: {pipeline!r} is not a pipeline. "
                    "Fix: name one in pipelines/"
                )
    for name, spec in tree.specs.get("pipelines", {}).items():
        assert isinstance(spec, PipelineSpec)
        instrument = tree.project / spec.instrument
        if not instrument.exists():
            path = tree.root / "pipelines" / f"{name}.yaml"
            line = _line_of(path.read_text(encoding="utf-8"), ("instrument",))
            problems.append(
                f"{path}:{line}: instrument: {instrument} does not exist. Fix: a path "
                "relative to the project root, e.g. config/instruments/esh4.yaml"
            )
    return problems


def validate_tree(root: Path = DEFAULT_ROOT) -> tuple[ConfigTree, list[str]]:
    """Every file of the tree checked; the specs that parsed and the problems found."""
    if not root.is_dir():
        raise ConfigError(
            f"{root}: no research config tree here. Fix: run from the project root, or "
            "pass --configs PATH (the folder holding pipelines/, serving/, experiments/)"
        )
    tree = ConfigTree(root)
    problems: list[str] = []
    for kind in KINDS:
        tree.specs[kind] = {}
        for path in sorted((root / kind).glob("*.y*ml")):
            spec, found = _problems_of(path, kind)
            problems += found
            if spec is not None and not found:
                tree.specs[kind][path.stem] = spec
    problems += _reference_problems(tree)
    return tree, problems


def load_tree(root: Path = DEFAULT_ROOT) -> ConfigTree:
    """The tree, or ConfigError listing every problem in it."""
    tree, problems = validate_tree(root)
    if problems:
        raise ConfigError("\n".join(problems))
    return tree
