"""The composition root: settings + config file -> concrete objects.

The only module that picks adapters. Tests call the same functions with fakes.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field
from sqlalchemy import Engine

from tradeloop import __version__
from tradeloop.bootstrap.database import database_url, open_database, redact_url
from tradeloop.bootstrap.origin_environment import origin_overrides
from tradeloop.bootstrap.profiles import (
    NOT_APPLIED,
    PROFILES,
    ProfileName,
    merged,
    profile_layer,
)
from tradeloop.core.config import (
    FrozenConfig,
    load_yaml_mapping,
    parse_config,
    render_documented_yaml,
)
from tradeloop.core.durations import parse_duration_sec
from tradeloop.core.errors import ConfigError
from tradeloop.data.config import IngestConfig, QualityConfig
from tradeloop.data.live_guard import LiveGuard
from tradeloop.data.ports import Provider
from tradeloop.data.raw_archive import RawArchive
from tradeloop.data.universe import Universe, load_universe
from tradeloop.execution.config import ExecutionConfig, MlSignalConfig, VenuesConfig
from tradeloop.features.config import PivotConfig
from tradeloop.labels.config import EventLabelConfig
from tradeloop.models.config import AgentConfig, CurveConfig, ForecastConfig, TrainConfig
from tradeloop.models.event_config import EventTrainConfig
from tradeloop.monitor.report_config import ReportConfig
from tradeloop.ops.config import (
    ApiConfig,
    BackupConfig,
    HealthConfig,
    LoopConfig,
    NotifyConfig,
    SchedulerConfig,
    StreamConfig,
)
from tradeloop.registry.gates import GateConfig
from tradeloop.registry.governance import GovernanceConfig
from tradeloop.registry.registry import ModelRegistry
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.rollout.config import (
    FailSafeConfig,
    PromotionConfig,
    ReleaseConfig,
    RolloutConfig,
    RolloutGuardConfig,
)
from tradeloop.serving.config import ScorerConfig
from tradeloop.settings import (
    ProviderCredentials,
    Settings,
    load_collector_environment,
    load_credentials,
    load_governance_environment,
)
from tradeloop.store.sql.audit import SqlAuditTrail
from tradeloop.store.sql.bar_store import SqlBarStore
from tradeloop.store.sql.event_store import SqlEventStore
from tradeloop.store.sql.ingest_store import SqlIngestStore
from tradeloop.store.sql.model_records import SqlModelRecords
from tradeloop.usecases.collector_config import CollectorConfig
from tradeloop.usecases.scalper_config import ScalperConfig

if TYPE_CHECKING:
    import polars as pl

    from tradeloop.adapters.synthetic import SyntheticProvider
    from tradeloop.adapters.synthetic.provider import Calibration
    from tradeloop.data.ingest import FetchResult, FetchTask, Ingestor
    from tradeloop.serving.curve_service import CurvePredictor
    from tradeloop.serving.http_guard import HttpGuard
    from tradeloop.serving.prediction_writer import (
        PredictionWriter,  # the loop pulls in LightGBM and ONNX Runtime: import it only when used
    )
    from tradeloop.store.sql.paper_stores import SqlPaperStores
    from tradeloop.store.sql.report_queries import SqlReportQueries
    from tradeloop.store.sql.snapshot import SqlDatabaseSnapshots
    from tradeloop.usecases.agent_training import AgentSources
    from tradeloop.usecases.loop import LoopDeps, LoopSettings
    from tradeloop.usecases.notifications import Notifier
    from tradeloop.usecases.paper_trading import LiveVenue

DEFAULT_CONFIG_NAME = "tradeloop.yaml"


class SyntheticConfig(FrozenConfig):
    """The seeded synthetic market provider."""

    seed: int = Field(7, description="same seed + symbol -> same bars")


class AppConfig(FrozenConfig):
    """Everything ``tradeloop.yaml`` may hold; every section is optional."""

    profile: ProfileName = Field(
        "general",
        description="an origin stack whose documented defaults apply under this file's "
        "values: general, pivotquant, institutional, pim, scalper, qmachina (docs/migration.md)",
    )
    loop: LoopConfig = Field(default_factory=LoopConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    venues: VenuesConfig = Field(default_factory=VenuesConfig)
    ml_signal: MlSignalConfig = Field(default_factory=MlSignalConfig)
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    curve: CurveConfig = Field(default_factory=CurveConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)
    collector: CollectorConfig = Field(default_factory=CollectorConfig)
    pivots: PivotConfig = Field(default_factory=PivotConfig)
    labels: EventLabelConfig = Field(default_factory=EventLabelConfig)
    event_models: EventTrainConfig = Field(default_factory=EventTrainConfig)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
    scorer: ScorerConfig = Field(default_factory=ScorerConfig)
    stream: StreamConfig = Field(default_factory=StreamConfig)
    scalper: ScalperConfig = Field(default_factory=ScalperConfig)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    rollout_guard: RolloutGuardConfig = Field(default_factory=RolloutGuardConfig)
    fail_safe: FailSafeConfig = Field(default_factory=FailSafeConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)

    def loop_settings(self) -> LoopSettings:
        from tradeloop.usecases.loop import LoopSettings

        return LoopSettings(
            loop=self.loop,
            quality=self.quality,
            train=self.train,
            execution=self.execution,
            risk=self.risk,
        )


EXAMPLE_HEADER = (
    "tradeloop configuration: every key, its default and what it does.",
    "Copy to ./tradeloop.yaml (or point TRADELOOP_CONFIG at a file) and change what you need;",
    "every section and key is optional; unknown keys are rejected. Check a file with:",
    "  tradeloop config validate tradeloop.yaml",
    "Deployment knobs and secrets come from the environment, never from this file:",
    "  TRADELOOP_HOME (runtime root, default ./var), TRADELOOP_DB_URL (PostgreSQL; unset:",
    "  SQLite in TRADELOOP_HOME), TRADELOOP_REDIS_URL, TRADELOOP_API_TOKEN,",
    "  TRADELOOP_LOG_LEVEL, TRADELOOP_MODEL_PATH (pin the scorer to a version folder),",
    "  TRADELOOP_SECRETS_FILE (dotenv file holding any of these); MODEL_GOV_* override the",
    "  governance section and LIVE_COLLECTOR_* the collector section; the origin stacks'",
    "  variables (PivotQuant's ML_SERVER_PORT, BACKUP_HOUR, ...) set their keys, and",
    "  `profile:` (or --profile) lays an origin's defaults under this file: docs/migration.md.",
    "Generated by `tradeloop config example`.",
)


def example_config_text() -> str:
    """The documented example configuration (all defaults)."""
    return render_documented_yaml(AppConfig(), EXAMPLE_HEADER)


def load_app_config(
    path: Path | None, profile: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[AppConfig, str]:
    """Load ``path`` (or ./tradeloop.yaml when present, else defaults) over the profile's
    defaults (``profile``, else the file's ``profile:``), with the origin stacks'
    environment variables over both; return it and where it came from."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is None and Path(DEFAULT_CONFIG_NAME).exists():
        path = Path(DEFAULT_CONFIG_NAME)
    if path is not None:
        data, source = _relative_to(load_yaml_mapping(path), path.parent), str(path)
        parse_config(AppConfig, data, source)  # the file's own mistakes name the file
    name = profile or data.get("profile") or "general"
    if name not in PROFILES:
        raise ConfigError(
            f"profile {name!r} is not one tradeloop knows. Fix: use one of "
            f"{', '.join(PROFILES)} (docs/migration.md)"
        )
    overrides = origin_overrides(os.environ if environ is None else environ)
    layered = merged(merged(profile_layer(name), data), overrides.layer)
    layered["profile"] = name
    if name != "general":
        source += f" + profile {name}"
    if overrides.applied:
        source += " + environment (" + ", ".join(v for v, _ in overrides.applied) + ")"
    return parse_config(AppConfig, layered, source), source


def profile_report(config: AppConfig) -> dict[str, Any]:
    """The profile in force: each of its values with the origin line it comes from and
    whether it holds (the file or the environment may have set another)."""
    effective = config.model_dump(mode="json")
    values = []
    for value in PROFILES[config.profile]:
        node: Any = effective
        for part in value.key.split("."):
            node = node[part]
        values.append(
            {
                "key": value.key,
                "value": value.value,
                "origin": f"{value.source} ({value.quote})",
                "in_force": node == value.value,
            }
        )
    report: dict[str, Any] = {"name": config.profile, "values": values}
    if config.profile in NOT_APPLIED:
        report["not_applied"] = NOT_APPLIED[config.profile]
    return report


log = logging.getLogger(__name__)
DEFAULT_UNIVERSE = "config/universe.json"
SHIPPED_UNIVERSE = Path(__file__).resolve().parent.parent / "data" / "default_universe.json"

# Config keys that name a file or folder: a relative one is read from the config file's
# folder, not from wherever the command runs.
PATH_KEYS = (("ingest", "universe_path"), ("ingest", "files_dir"), ("notify", "smtp_ca_file"))


def _relative_to(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    resolved = dict(data)
    ingest = resolved.get("ingest") or {}
    beside = folder / DEFAULT_UNIVERSE
    if isinstance(ingest, dict) and "universe_path" not in ingest and beside.exists():
        # the default universe too: config/universe.json beside the config file
        resolved["ingest"] = {**ingest, "universe_path": DEFAULT_UNIVERSE}
    for section, key in PATH_KEYS:
        values = resolved.get(section)
        if not isinstance(values, dict) or not isinstance(values.get(key), str):
            continue
        value = Path(values[key]).expanduser()
        if not value.is_absolute():
            resolved[section] = {**values, key: str((folder / value).resolve())}
    return resolved


@functools.lru_cache(maxsize=1)
def gspc_calibration() -> Calibration:
    """SPY's synthetic series follows the real ^GSPC daily history (scaled like SPY)."""
    from tradeloop.adapters.bundled import BundledProvider
    from tradeloop.adapters.synthetic.provider import calibrate

    return calibrate(BundledProvider().history("^GSPC"), price_scale=0.1)


def synthetic_provider(config: AppConfig) -> SyntheticProvider:
    from tradeloop.adapters.synthetic import SyntheticProvider

    return SyntheticProvider(seed=config.synthetic.seed, calibration={"SPY": gspc_calibration()})


def collector_config(config: AppConfig) -> CollectorConfig:
    """The collector config with ``LIVE_COLLECTOR_*`` environment overrides applied."""
    environment = load_collector_environment()
    updates: dict[str, Any] = {}
    if environment.symbols:
        updates["symbols"] = tuple(s.strip() for s in environment.symbols.split(",") if s.strip())
    if environment.source:
        updates["source"] = environment.source
    if environment.range:
        try:
            updates["range_days"] = parse_duration_sec(environment.range) / 86_400
        except ValueError as exc:
            raise ConfigError(f"LIVE_COLLECTOR_RANGE: {exc}") from None
    if environment.poll_sec is not None:
        updates["poll_s"] = environment.poll_sec
    if environment.score_enabled is not None:
        updates["score_enabled"] = environment.score_enabled
    if environment.enabled is not None:
        updates["enabled"] = environment.enabled
    return parse_config(
        CollectorConfig,
        {**config.collector.model_dump(), **updates},
        "collector config + LIVE_COLLECTOR_* environment",
    )


def governance_config(config: AppConfig) -> GovernanceConfig:
    """The promotion gates with ``MODEL_GOV_*`` environment overrides applied."""
    environment = load_governance_environment()
    updates: dict[str, Any] = {
        key: value
        for key, value in environment.model_dump().items()
        if value is not None
        and key not in ("required_targets", "required_horizons", "force_promote")
    }
    if environment.required_targets is not None:
        updates["required_targets"] = tuple(
            t.strip() for t in environment.required_targets.split(",") if t.strip()
        )
    if environment.required_horizons is not None:
        try:
            updates["required_horizons"] = tuple(
                int(h) for h in environment.required_horizons.split(",") if h.strip()
            )
        except ValueError:
            raise ConfigError(
                f"MODEL_GOV_REQUIRED_HORIZONS={environment.required_horizons!r}: expected "
                "bars as integers, e.g. 5,15,60"
            ) from None
    return parse_config(
        GovernanceConfig,
        {**config.governance.model_dump(), **updates},
        "governance config + MODEL_GOV_* environment",
    )


def make_provider(name: str, config: AppConfig) -> Provider:
    from tradeloop.adapters.bundled import BundledProvider

    providers: dict[str, Any] = {
        "bundled": BundledProvider,
        "synthetic": lambda: synthetic_provider(config),
    }
    if name not in providers:
        raise ConfigError(
            f"loop.provider: unknown provider {name!r}. Fix: use one of {sorted(providers)}."
        )
    provider: Provider = providers[name]()
    return provider


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Everything needed to build the providers, picklable (sent to Dask workers)."""

    ingest: IngestConfig
    synthetic_seed: int
    credentials: ProviderCredentials
    raw_root: str
    run_id: str | None
    # processes fetching at once (Dask workers): each takes its share of a provider's rate
    # limit, so that together they stay within it
    processes: int = 1


_PROVIDER_CACHE: dict[int, dict[str, Provider]] = {}


def _secret(value: Any) -> str:
    return str(value.get_secret_value()) if value else ""


Headers = Callable[[ProviderCredentials], dict[str, str]]


def _rest_providers() -> dict[str, tuple[type[Any], Headers]]:
    """The HTTP providers: name -> (adapter, its request headers from the credentials).
    A provider is built when the ingest config has its endpoint and capability."""
    from tradeloop.adapters.alpaca import AlpacaProvider
    from tradeloop.adapters.polygon import PolygonProvider
    from tradeloop.adapters.yahoo import YahooProvider

    return {
        "yahoo": (YahooProvider, lambda c: {"User-Agent": "tradeloop/" + __version__}),
        "polygon": (
            PolygonProvider,
            lambda c: {"Authorization": "Bearer " + _secret(c.polygon_api_key)},
        ),
        "alpaca": (
            AlpacaProvider,
            lambda c: {
                "APCA-API-KEY-ID": _secret(c.alpaca_api_key_id),
                "APCA-API-SECRET-KEY": _secret(c.alpaca_api_secret_key),
            },
        ),
    }


def _spec_key(spec: ProviderSpec) -> int:
    return hash(
        (
            spec.ingest.model_dump_json(),
            spec.synthetic_seed,
            spec.raw_root,
            spec.run_id,
            spec.credentials.model_dump_json(),
            spec.processes,
        )
    )


def build_providers(spec: ProviderSpec) -> dict[str, Provider]:
    """Every provider this configuration can use, keyed by name (cached per process)."""
    from tradeloop.adapters.bundled import BundledProvider
    from tradeloop.adapters.files import FilesProvider
    from tradeloop.adapters.http_client import HttpJsonClient
    from tradeloop.adapters.synthetic import SyntheticProvider

    key = _spec_key(spec)
    if key in _PROVIDER_CACHE:
        return _PROVIDER_CACHE[key]
    archive = RawArchive(Path(spec.raw_root)) if spec.ingest.archive_raw else None
    if archive is not None and spec.run_id:
        archive.begin_run(spec.run_id)
    providers: dict[str, Provider] = {
        "bundled": BundledProvider(),
        "synthetic": SyntheticProvider(
            seed=spec.synthetic_seed, calibration={"SPY": gspc_calibration()}
        ),
    }
    if spec.ingest.files_dir:
        providers["files"] = FilesProvider(Path(spec.ingest.files_dir))
    for name, (adapter, headers) in _rest_providers().items():
        base_url = spec.ingest.endpoints.get(name)
        capability = spec.ingest.capabilities.get(name)
        if base_url is None or capability is None:
            continue
        client = HttpJsonClient(
            name,
            base_url,
            retry=spec.ingest.retry,
            rate_per_minute=max(1, capability.rate_limit_per_minute // spec.processes),
            headers={k: v for k, v in headers(spec.credentials).items() if v},
        )
        providers[name] = adapter(client, archive)
    _PROVIDER_CACHE[key] = providers
    return providers


def fetch_with_spec(spec: ProviderSpec, task: FetchTask) -> FetchResult:
    """Fetch one symbol with providers built from ``spec`` (runs in workers too)."""
    from tradeloop.data.ingest import fetch_symbol

    return fetch_symbol(task, build_providers(spec), spec.ingest, spec.credentials.entitled())


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    config: AppConfig
    config_source: str
    engine: Engine

    def kill_switch(self) -> KillSwitch:
        """The operator's kill switch (``var/KILL_SWITCH``)."""
        return KillSwitch(self.settings.kill_switch_path)

    def loop_deps(self) -> LoopDeps:
        from tradeloop.usecases.loop import LoopDeps

        return LoopDeps(
            provider=make_provider(self.config.loop.provider, self.config),
            bars=SqlBarStore(self.engine),
            audit=SqlIngestStore(self.engine),
            registry=self.registry(),
            kill_switch=KillSwitch(self.settings.kill_switch_path),
            reports_dir=self.settings.reports_dir,
        )

    def event_store(self) -> SqlEventStore:
        return SqlEventStore(self.engine)

    def ingest_store(self) -> SqlIngestStore:
        return SqlIngestStore(self.engine)

    def ingestor(self, on_symbol: Any = None) -> Ingestor:
        from tradeloop.data.ingest import Ingestor

        return Ingestor(
            store=self.ingest_store(),
            config=self.config.ingest,
            quality=self.config.quality,
            guard=LiveGuard(self.settings.trading_mode_path),
            on_symbol=on_symbol,
        )

    def universe(self) -> Universe:
        """The configured universe; with the default path and no such file (a command run
        outside a project folder), the one shipped with tradeloop."""
        path = Path(self.config.ingest.universe_path)
        if not path.exists() and self.config.ingest.universe_path == DEFAULT_UNIVERSE:
            path = SHIPPED_UNIVERSE
        return load_universe(path)

    def offline(self) -> App:
        """This app with ``ingest.offline`` on: bundled real history, then the seeded
        synthetic market, lead every symbol's providers; no network is needed."""
        ingest = self.config.ingest.with_changes(offline=True)
        return dataclasses.replace(self, config=self.config.with_changes(ingest=ingest))

    def provider_spec(self, run_id: str | None, processes: int = 1) -> ProviderSpec:
        return ProviderSpec(
            ingest=self.config.ingest,
            synthetic_seed=self.config.synthetic.seed,
            credentials=load_credentials(),
            raw_root=str(self.settings.home / "raw"),
            run_id=run_id,
            processes=processes,
        )

    def fetcher(self, run_id: str, processes: int = 1) -> Callable[[FetchTask], FetchResult]:
        """Fetch-and-validate of one symbol; ``processes`` fetching at once share each
        provider's rate limit."""
        return functools.partial(fetch_with_spec, self.provider_spec(run_id, processes))

    def fetches_over_http(self, provider: str | None) -> bool:
        """Whether an ingest (with this ``--provider`` override) reaches an HTTP provider,
        where fetches wait on the network; the bundled, synthetic and files providers read
        local data."""
        remote = set(_rest_providers())
        if provider is not None:
            return provider in remote
        ingest = self.config.ingest
        if ingest.offline:
            return False
        return any(name in remote and name in ingest.endpoints for name in ingest.priority)

    def daily_bars(self, symbols: list[str]) -> pl.DataFrame:
        """Every stored daily bar of ``symbols``."""
        from tradeloop.domain.bar import DAILY_SEC

        return self.ingest_store().load_bars_many(symbols, DAILY_SEC, 0, 2**62)

    def dated_features(self, symbols: list[str]) -> dict[str, pl.DataFrame | None]:
        """The optional dated feature files under ``TRADELOOP_HOME/features/``."""
        from tradeloop.adapters.files.dated_features import read_dated_features

        return read_dated_features(self.settings.home / "features", symbols)

    def agent_sources(self) -> AgentSources:
        """What agent training and evaluation read and write."""
        from tradeloop.usecases.agent_training import AgentSources

        return AgentSources(self.registry(), self.daily_bars, self.dated_features,
                            self.config.curve, self.settings.home / "agents" / "runs")  # fmt: skip

    def curve_predictor(self, alias: str = "active") -> CurvePredictor:
        """The curve model the registry aliases ``alias``, over the stored daily bars;
        DataError when there is none."""
        from tradeloop.core.errors import DataError
        from tradeloop.models.curve_model import CURVE_MODEL_NAME, CurveModel
        from tradeloop.serving.curve_service import CurvePredictor
        from tradeloop.usecases.curve_training import latest_features

        registry = self.registry()
        version_id = registry.resolve(CURVE_MODEL_NAME, alias)
        if version_id is None:
            raise DataError(
                f"no curve model aliased {alias!r}. Fix: tradeloop curve train, then tradeloop "
                f"models promote candidate --name {CURVE_MODEL_NAME} --to active"
            )
        files, manifest = registry.load(version_id)
        config = self.config.curve

        def features_of(symbol: str) -> tuple[int, Any]:
            return latest_features(self.daily_bars, symbol, config,
                                   self.dated_features([symbol]))  # fmt: skip

        return CurvePredictor(CurveModel(files, manifest), version_id, features_of)

    def registry(self) -> ModelRegistry:
        return ModelRegistry(
            self.settings.models_dir,
            SqlModelRecords(self.engine),
            governance_config(self.config),
            self.config.gate,
        )

    def live_venue(self) -> LiveVenue:
        """The real venue ``EXCHANGE_VENUE`` / ``EXCHANGE_MODE`` name, with credentials
        from the environment or the secrets file; TradingRefused when none is usable."""
        from tradeloop.bootstrap.venues import live_venue
        from tradeloop.settings import load_credentials, load_venue_environment

        return live_venue(load_venue_environment(), load_credentials(), self.config.venues)

    def notifier(self, log: Callable[[str], None] | None = None) -> Notifier:
        """The configured notification channels (none configured: a notifier that is not
        ``enabled``); ConfigError when a channel lacks what it needs."""
        from tradeloop.bootstrap.notifiers import build_channels
        from tradeloop.settings import load_notify_secrets, secret_values
        from tradeloop.usecases.notifications import Notifier

        config = self.config.notify
        channels = build_channels(config, load_notify_secrets())
        return Notifier(
            config,
            channels,
            secret_values(),
            home=self.settings.home,
            log=log or (lambda line: None),
        )

    def describe_database(self) -> str:
        return redact_url(database_url(self.settings))

    def paper_stores(self) -> SqlPaperStores:
        """Where paper and live accounts keep orders, ledger projections and audit."""
        from tradeloop.store.sql.paper_stores import SqlPaperStores

        return SqlPaperStores(self.engine)

    def report_queries(self) -> SqlReportQueries:
        """What the daily report reads and writes."""
        from tradeloop.store.sql.report_queries import SqlReportQueries

        return SqlReportQueries(self.engine)

    def database_snapshots(self) -> SqlDatabaseSnapshots:
        """The database's side of backups, restore drills and restores."""
        from tradeloop.store.sql.snapshot import SqlDatabaseSnapshots

        backup = self.config.backup
        return SqlDatabaseSnapshots(self.engine, backup.pg_dump, backup.pg_restore)

    def database_bytes(self) -> int:
        """What the database takes on disk (for the health check's growth rule)."""
        from tradeloop.store.sql.engine import database_size

        return database_size(self.engine)

    def log_predictions(self, rows: list[dict[str, Any]]) -> int:
        """Rows into ``prediction_log`` (insert-only), in one transaction; how many."""
        from tradeloop.store.sql.prediction_log import write_predictions

        return write_predictions(self.engine, rows)

    def audit_trail(self) -> SqlAuditTrail:
        return SqlAuditTrail(self.engine)

    def audit(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None:
        """One row of the audit trail (``audit_event``)."""
        self.audit_trail().record(kind, subject, payload, actor)

    def write_ledger(self, run_id: str, ledger: Any, trades: Any, ts: int) -> None:
        """A finished run's closing positions and round trips, for the reports."""
        from tradeloop.store.sql.ledger import write_ledger

        write_ledger(self.engine, run_id, ledger, trades, ts)

    def last_bars(self) -> list[dict[str, Any]]:
        """The newest stored bar per symbol and interval (freshness checks)."""
        from tradeloop.store.sql.report_queries import last_bars

        return last_bars(self.engine)


def build_scorer(app: App, config: ScorerConfig) -> tuple[HttpGuard, PredictionWriter | None]:
    """The scoring server's ASGI app (models loaded, behind the Host / Origin / rate guard)
    and its prediction_log writer."""
    from tradeloop.features.touch_events import EVENT_SCHEMA
    from tradeloop.serving.http_app import ScorerApp
    from tradeloop.serving.http_guard import HttpGuard
    from tradeloop.serving.loader import path_loader, registry_loader
    from tradeloop.serving.prediction_writer import PredictionWriter
    from tradeloop.serving.service import ReloadError, ScoringService
    from tradeloop.store.sql.prediction_log import write_predictions

    if app.settings.model_path is not None:
        loader = path_loader(app.settings.model_path, EVENT_SCHEMA)
    else:
        loader = registry_loader(
            app.registry(), config.model_name, EVENT_SCHEMA, shadow=config.shadow
        )
    writer = None
    if config.log_predictions:
        writer = PredictionWriter(
            functools.partial(write_predictions, app.engine),
            max_rows=config.log_queue_max,
            flush_ms=config.log_flush_ms,
        )
    service = ScoringService(loader, config, EVENT_SCHEMA, writer=writer)
    try:
        service.reload()
    except ReloadError as exc:  # start anyway: health says why, /reload can fix it later
        logging.getLogger("tradeloop.scorer").error("initial model load failed: %s", exc)
    token = app.settings.api_token.get_secret_value() if app.settings.api_token else None
    scorer = ScorerApp(service, token, writer.close if writer else None, app.curve_predictor)
    guard = HttpGuard(
        scorer,
        allowed_hosts=config.allowed_hosts,
        rate_per_minute=config.rate_limit_per_minute,
        limit_loopback=False,  # the collector on this machine scores at full speed
    )
    return guard, writer


def build_app(settings: Settings, config_path: Path | None = None, read_only: bool = False) -> App:
    """Validate config, lay out the runtime root, open and migrate the database. With
    ``read_only`` (commands that only show state) nothing is created or migrated."""
    config, source = load_app_config(config_path or settings.config, settings.profile)
    # before any directory: a bad URL leaves no trace
    engine = open_database(settings, read_only=read_only)
    if read_only:
        return App(settings=settings, config=config, config_source=source, engine=engine)
    for directory in settings.runtime_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    return App(settings=settings, config=config, config_source=source, engine=engine)
