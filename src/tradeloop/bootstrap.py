"""The composition root: settings + config file -> concrete objects.

The only module that picks adapters. Tests call the same functions with fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy import Engine

from tradeloop.adapters.bundled import BundledProvider
from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.config import FrozenConfig, load_yaml_mapping, parse_config
from tradeloop.core.errors import ConfigError
from tradeloop.data.config import QualityConfig
from tradeloop.data.ports import Provider
from tradeloop.execution.config import ExecutionConfig
from tradeloop.models.config import TrainConfig
from tradeloop.ops.config import LoopConfig
from tradeloop.ops.loop import LoopDeps, LoopSettings
from tradeloop.registry.gates import GateConfig
from tradeloop.registry.registry import ModelRegistry
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.settings import Settings
from tradeloop.store.sql.audit_store import SqlAuditStore
from tradeloop.store.sql.bar_store import SqlBarStore
from tradeloop.store.sql.engine import open_engine, redact_url, sqlite_url
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.model_records import SqlModelRecords

DEFAULT_CONFIG_NAME = "tradeloop.yaml"


class SyntheticConfig(FrozenConfig):
    seed: int = Field(7, description="same seed + symbol -> same bars")


class AppConfig(FrozenConfig):
    """Everything ``tradeloop.yaml`` may hold; every section is optional."""

    loop: LoopConfig = Field(default_factory=LoopConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)

    def loop_settings(self) -> LoopSettings:
        return LoopSettings(
            loop=self.loop,
            quality=self.quality,
            train=self.train,
            gate=self.gate,
            execution=self.execution,
            risk=self.risk,
        )


def load_app_config(path: Path | None) -> tuple[AppConfig, str]:
    """Load ``path`` (or ./tradeloop.yaml when present, else defaults); return it and its source."""
    if path is None:
        default = Path(DEFAULT_CONFIG_NAME)
        if not default.exists():
            return AppConfig(), "defaults"
        path = default
    data = load_yaml_mapping(path)
    return parse_config(AppConfig, data, str(path)), str(path)


def database_url(settings: Settings) -> str:
    if settings.db_url is not None:
        return settings.db_url.get_secret_value()
    return sqlite_url(settings.db_path)


def open_database(settings: Settings) -> Engine:
    """Open the database and apply migrations (idempotent)."""
    engine = open_engine(database_url(settings))
    upgrade(engine)
    return engine


def make_provider(name: str, config: AppConfig) -> Provider:
    providers: dict[str, Any] = {
        "bundled": BundledProvider,
        "synthetic": lambda: SyntheticProvider(seed=config.synthetic.seed),
    }
    if name not in providers:
        raise ConfigError(
            f"loop.provider: unknown provider {name!r}. Fix: use one of {sorted(providers)}."
        )
    provider: Provider = providers[name]()
    return provider


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    config: AppConfig
    config_source: str
    engine: Engine

    def loop_deps(self) -> LoopDeps:
        return LoopDeps(
            provider=make_provider(self.config.loop.provider, self.config),
            bars=SqlBarStore(self.engine),
            audit=SqlAuditStore(self.engine),
            registry=ModelRegistry(self.settings.models_dir, SqlModelRecords(self.engine)),
            kill_switch=KillSwitch(self.settings.kill_switch_path),
            reports_dir=self.settings.reports_dir,
        )

    def describe_database(self) -> str:
        return redact_url(database_url(self.settings))


def build_app(settings: Settings, config_path: Path | None = None) -> App:
    """Validate config, lay out the runtime root, open and migrate the database."""
    config, source = load_app_config(config_path or settings.config)
    for directory in settings.runtime_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    engine = open_database(settings)
    return App(settings=settings, config=config, config_source=source, engine=engine)
