"""Typed, frozen configuration: the base class, a strict YAML loader and clear errors.

Every component keeps a ``<Component>Config`` beside it, derived from :class:`FrozenConfig`.
Unknown keys are rejected with a "did you mean" hint, NaN/Infinity are refused, and the
YAML pitfalls of PyYAML (``NO`` read as False, ``0777`` as 511, duplicate keys silently
overwritten, an empty file read as None) are each turned into an error naming the file,
the key path, the value and the fix.
"""

from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tradeloop.core.errors import ConfigError

__all__ = ["FrozenConfig", "format_validation_error", "load_yaml_mapping", "parse_config"]

C = TypeVar("C", bound="FrozenConfig")
log = logging.getLogger(__name__)

# YAML 1.1 reads these as booleans; people mean them as strings (country "NO", "on" ...).
_AMBIGUOUS_BOOLEANS = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
# YAML 1.1 reads 0777 as octal 511 and 1_000 or 1:30 as numbers in surprising ways.
_AMBIGUOUS_NUMBERS = re.compile(r"^[-+]?(0[0-7_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|\d+(:\d+)+)$")


class FrozenConfig(BaseModel):
    """Base for every config: immutable, unknown keys rejected, no NaN or Infinity, and no
    boolean where a number is expected (``initial_cash_usd: true`` is not 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    # Keys renamed in a release (old -> new): a config file written before still loads,
    # with a warning naming the new key. Every duration in seconds ends in ``_s``.
    RENAMED: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        if not cls.RENAMED or not isinstance(data, dict):
            return data
        renamed = dict(data)
        for old, new in cls.RENAMED.items():
            if old not in renamed:
                continue
            if new in renamed:
                raise ValueError(
                    f"{old!r} and {new!r} both set: {old!r} is the old name; keep {new!r}"
                )
            log.warning("config key %r is now %r; rename it in your config", old, new)
            renamed[new] = renamed.pop(old)
        return renamed

    def with_changes(self: C, **changes: Any) -> C:
        """A copy with ``changes``, validated like a config file: an unknown key or a bad
        value is a ConfigError (pydantic's ``model_copy(update=...)`` checks neither)."""
        return parse_config(type(self), {**self.model_dump(), **changes}, "changed settings")

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _takes_number_not_bool(field.annotation):
                raise ValueError("expected a number, got a boolean")
        return value


def _takes_number_not_bool(annotation: Any) -> bool:
    options = get_args(annotation) or (annotation,)
    return bool not in options and any(option in (int, float) for option in options)


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys and ambiguous YAML 1.1 scalars."""

    source_name = "<config>"


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            line = key_node.start_mark.line + 1
            raise ConfigError(
                f"{loader.source_name}:{line}: duplicate key {key!r}; "
                "YAML would silently keep only the last one. Fix: keep one entry."
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


def _construct_scalar_check(loader: _StrictLoader, node: yaml.ScalarNode) -> None:
    if node.style is not None:
        return
    value = node.value
    line = node.start_mark.line + 1
    if _AMBIGUOUS_BOOLEANS.match(value):
        raise ConfigError(
            f"{loader.source_name}:{line}: unquoted {value!r} is ambiguous (YAML 1.1 reads "
            f"it as a boolean). Fix: write true or false, or quote it: '{value}'."
        )
    if _AMBIGUOUS_NUMBERS.match(value):
        raise ConfigError(
            f"{loader.source_name}:{line}: unquoted {value!r} is ambiguous (YAML 1.1 reads "
            f"it as an octal, hex or sexagesimal number). Fix: quote it ('{value}') or "
            "write the plain decimal number you mean."
        )


for _tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int"):
    _original = yaml.SafeLoader.yaml_constructors[_tag]

    def _guarded(loader: Any, node: Any, _orig: Any = _original) -> Any:
        _construct_scalar_check(loader, node)
        return _orig(loader, node)

    _StrictLoader.add_constructor(_tag, _guarded)
_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping, with the strict guards above."""
    if not path.exists():
        raise ConfigError(
            f"{path}: config file not found. Fix: create it (copy "
            "config/tradeloop.example.yaml) or pass the right path."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}). Fix: save the file as UTF-8."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror}). Fix: check it.") from None
    if not text.strip():
        raise ConfigError(f"{path}: config file is empty. Fix: add at least one section.")
    loader = _StrictLoader(text)
    loader.source_name = str(path)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{path}{where}: not valid YAML ({problem}). Fix: correct the syntax."
        ) from None
    finally:
        loader.dispose()
    if data is None:
        raise ConfigError(f"{path}: config file holds no settings. Fix: add a section.")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: top level must be a mapping of sections, got {type(data).__name__}. "
            "Fix: start with a key such as 'demo:'."
        )
    return data


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or not isinstance(part, str):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        current = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return current


def _is_secret(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """Whether the field at ``loc`` holds a secret: its value never appears in a message."""
    parent = _model_at(model, loc[:-1]) if loc else None
    field = parent.model_fields.get(str(loc[-1])) if parent and loc else None
    return field is not None and "Secret" in str(field.annotation)


def format_validation_error(source: str, model: type[BaseModel], exc: ValidationError) -> str:
    """Render a pydantic error as lines naming the source, key path, value and fix."""
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = ".".join(str(part) for part in loc) or "<root>"
        value = "**********" if _is_secret(model, loc) else error.get("input")
        kind = error["type"]
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            known = sorted(parent.model_fields) if parent else []
            guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"known keys: {', '.join(known)}"
            lines.append(f"{source}: {path}: unknown key. Fix: remove it; {hint}")
        elif kind == "finite_number":
            lines.append(f"{source}: {path}: {value!r} is not a finite number. Fix: use a number.")
        else:
            lines.append(
                f"{source}: {path}: {error['msg'].lower()} (got {value!r}). "
                "Fix: see config/tradeloop.example.yaml for the expected form."
            )
    return "\n".join(lines)


def parse_config(model: type[C], data: dict[str, Any], source: str) -> C:
    """Validate ``data`` against ``model``; raise ConfigError with a readable message."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, model, exc)) from None


def render_documented_yaml(model: FrozenConfig, header: tuple[str, ...] = ()) -> str:
    """Render a config of sections as YAML with every key, its default and its description."""
    import json

    lines = [f"# {line}" if line else "#" for line in header]
    for section_name, top in type(model).model_fields.items():
        section = getattr(model, section_name)
        if not isinstance(section, FrozenConfig):  # a top-level key of its own
            lines += ["", f"# {top.description}", f"{section_name}: {json.dumps(section)}"]
            continue
        doc = (type(section).__doc__ or "").strip().splitlines()[0]
        lines += ["", f"# {doc}", f"{section_name}:"]
        for key, field in type(section).model_fields.items():
            if field.description:
                lines.append(f"  # {field.description}")
            value = section.model_dump(mode="json")[key]
            nested = getattr(section, key)
            if isinstance(nested, FrozenConfig):  # a sub-section: its keys documented too
                lines.append(f"  {key}:")
                for sub_key, sub_field in type(nested).model_fields.items():
                    if sub_field.description:
                        lines.append(f"    # {sub_field.description}")
                    lines.append(f"    {sub_key}: {json.dumps(value[sub_key])}")
            elif isinstance(value, dict) and value:
                lines.append(f"  {key}:")
                lines += [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
            else:
                lines.append(f"  {key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"
