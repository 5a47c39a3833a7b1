"""Environment and secrets (``TRADELOOP_*``); deployment knobs only, nothing else."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradeloop.core.config import format_validation_error
from tradeloop.core.errors import ConfigError

MIN_TOKEN_CHARS = 16


class Settings(BaseSettings):
    """Where tradeloop keeps its files and which services it talks to.

    Secrets may also come from a dotenv-style file named by ``TRADELOOP_SECRETS_FILE``.
    """

    model_config = SettingsConfigDict(
        env_prefix="TRADELOOP_",
        extra="ignore",
        frozen=True,
        allow_inf_nan=False,
        populate_by_name=True,
    )

    home: Path = Field(Path("var"), description="runtime root (db, lake, models, reports)")
    config: Path | None = Field(None, description="tradeloop.yaml to load")
    db_url: SecretStr | None = Field(None, description="PostgreSQL URL; unset: SQLite")
    redis_url: SecretStr | None = Field(None, description="Redis URL for the bus")
    api_token: SecretStr | None = Field(None, description="bearer token of control endpoints")
    model_path: Path | None = Field(
        None, description="serve this model version folder instead of the alias 'active'"
    )
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    instrument_config: Path | None = Field(
        None,
        # qMachina's name is read too (docs/migration.md)
        validation_alias=AliasChoices(
            "TRADELOOP_INSTRUMENT_CONFIG", "QMACHINA_INSTRUMENT_CONFIG_PATH"
        ),
        description="the instrument file of the MBO commands (one process, one instrument)",
    )
    profile: str | None = Field(
        None,
        description="an origin stack whose defaults apply under the config file's values "
        "(pivotquant, institutional, pim, scalper, qmachina; --profile sets it)",
    )
    consumer: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="a stream service replica's consumer name (default: host-service); "
        "the same name after a restart picks up its own unacknowledged messages",
    )

    @field_validator("api_token")
    @classmethod
    def _strong_token(cls, token: SecretStr | None) -> SecretStr | None:
        # An empty or guessable token would turn auth off (or make it trivial) on a server
        # that may bind beyond loopback: refuse it at start, never print it.
        if token is None:
            return None
        text = token.get_secret_value()
        how = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        if not text.strip():
            raise ValueError(f"the token is empty or blank; unset it, or set one made by {how}")
        if any(c.isspace() for c in text):
            raise ValueError("the token contains whitespace (it travels in an HTTP header)")
        if len(text) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"the token has {len(text)} characters, fewer than {MIN_TOKEN_CHARS}; "
                f"make a strong one with {how}"
            )
        return token

    @property
    def db_path(self) -> Path:
        return self.home / "tradeloop.db"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def paper_dir(self) -> Path:
        return self.home / "paper"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def kill_switch_path(self) -> Path:
        return self.home / "KILL_SWITCH"

    @property
    def trading_mode_path(self) -> Path:
        return self.home / "TRADING_MODE"

    @property
    def governance_halt_log(self) -> Path:
        return self.home / "governance_halt.log"

    def runtime_dirs(self) -> tuple[Path, ...]:
        names = ("lake", "raw", "models", "reports", "logs", "backups", "metrics")
        return tuple(self.home / name for name in names)


# Read elsewhere on purpose: the secrets file's own name, and the test suite's knobs.
_OTHER_VARIABLES = frozenset(
    {"TRADELOOP_SECRETS_FILE", "TRADELOOP_REQUIRE_SERVICES", "TRADELOOP_PROMTOOL"}
)


def _unknown_variables(environ: dict[str, str]) -> list[str]:
    known = {f"TRADELOOP_{name.upper()}" for name in Settings.model_fields}
    return sorted(
        name
        for name in environ
        if name.startswith("TRADELOOP_")
        and name not in known
        and name not in _OTHER_VARIABLES
        and not name.startswith("TRADELOOP_TEST_")
    )


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and the secrets file); ConfigError when bad.

    A ``TRADELOOP_*`` variable tradeloop does not know is refused with a "did you mean",
    so that a typo such as ``TRADELOOP_DB_ULR`` cannot silently fall back to SQLite.
    """
    known = sorted(f"TRADELOOP_{name.upper()}" for name in Settings.model_fields)
    for name in _unknown_variables(dict(os.environ)):
        guess = difflib.get_close_matches(name, [*known, *_OTHER_VARIABLES], n=1)
        hint = f"did you mean {guess[0]}?" if guess else f"known: {', '.join(known)}"
        raise ConfigError(f"environment: unknown variable {name}. Fix: unset it; {hint}")
    secrets_file = os.environ.get("TRADELOOP_SECRETS_FILE")
    if secrets_file and not Path(secrets_file).is_file():
        raise ConfigError(
            f"TRADELOOP_SECRETS_FILE={secrets_file}: file not found. Fix: point it at an "
            "existing file or unset it."
        )
    try:
        return Settings(_env_file=secrets_file, **overrides)
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error("environment (TRADELOOP_*)", Settings, exc)
        ) from None


class ProviderCredentials(BaseSettings):
    """Provider switches and credentials, under the runbooks' own variable names.

    A provider that requires entitlement is used only when ``<NAME>_ENABLED`` is true and
    its credentials are present. Also read from ``TRADELOOP_SECRETS_FILE``.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    yahoo_enabled: bool = True
    polygon_enabled: bool = False
    polygon_api_key: SecretStr | None = None
    alpaca_enabled: bool = False
    alpaca_api_key_id: SecretStr | None = None
    alpaca_api_secret_key: SecretStr | None = None
    bybit_api_key: SecretStr | None = None
    bybit_api_secret: SecretStr | None = None

    def entitled(self) -> dict[str, bool]:
        """Per provider: enabled and credentialed (providers without entitlement: True)."""
        return {
            "yahoo": self.yahoo_enabled,
            "polygon": self.polygon_enabled and self.polygon_api_key is not None,
            "alpaca": self.alpaca_enabled
            and self.alpaca_api_key_id is not None
            and self.alpaca_api_secret_key is not None,
        }


def load_credentials() -> ProviderCredentials:
    secrets_file = os.environ.get("TRADELOOP_SECRETS_FILE")
    try:
        return ProviderCredentials(_env_file=secrets_file)
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error("environment (provider credentials)", ProviderCredentials, exc)
        ) from None


class NotifySecrets(BaseSettings):
    """``NOTIFY_*``: the secret parts of notification channels (a webhook URL carries its
    token in the path, so it is a secret too). Also read from ``TRADELOOP_SECRETS_FILE``."""

    model_config = SettingsConfigDict(
        env_prefix="NOTIFY_", extra="ignore", frozen=True, populate_by_name=True
    )

    # PivotQuant's names are read too, when tradeloop's are unset (docs/migration.md)
    smtp_password: SecretStr | None = Field(
        None, validation_alias=AliasChoices("NOTIFY_SMTP_PASSWORD", "ML_REPORT_SMTP_PASS")
    )
    webhook_url: SecretStr | None = Field(
        None, validation_alias=AliasChoices("NOTIFY_WEBHOOK_URL", "ML_REPORT_WEBHOOK_URL")
    )
    slack_webhook_url: SecretStr | None = None


def load_notify_secrets() -> NotifySecrets:
    try:
        return NotifySecrets(_env_file=os.environ.get("TRADELOOP_SECRETS_FILE"))
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error("environment (NOTIFY_*)", NotifySecrets, exc)
        ) from None


def secret_values() -> list[str]:
    """Every secret this process knows (settings, provider and venue keys, notification
    secrets, database passwords): what must never leave in a message."""
    found: list[str] = []
    for source in (load_settings_quietly(), load_credentials(), load_notify_secrets()):
        if source is None:
            continue
        for name in type(source).model_fields:
            value = getattr(source, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                secret = value.get_secret_value()
                found.append(secret)
                password = _url_password(secret)
                if password:
                    found.append(password)
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def load_settings_quietly() -> Settings | None:
    try:
        return load_settings()
    except ConfigError:
        return None


def _url_password(value: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(value).password
    except ValueError:
        return None


class CollectorEnvironment(BaseSettings):
    """``LIVE_COLLECTOR_*`` overrides of the collector config (the PivotQuant knobs)."""

    model_config = SettingsConfigDict(env_prefix="LIVE_COLLECTOR_", extra="ignore", frozen=True)

    enabled: bool | None = None
    symbols: str | None = None
    source: str | None = None
    range: str | None = None
    poll_sec: float | None = None
    score_enabled: bool | None = None


def load_collector_environment() -> CollectorEnvironment:
    try:
        return CollectorEnvironment()
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error("environment (LIVE_COLLECTOR_*)", CollectorEnvironment, exc)
        ) from None


class GovernanceEnvironment(BaseSettings):
    """``MODEL_GOV_*`` overrides of the promotion gates (the PivotQuant names)."""

    model_config = SettingsConfigDict(env_prefix="MODEL_GOV_", extra="ignore", frozen=True)

    required_targets: str | None = None
    required_horizons: str | None = None
    min_trained_end_delta_ms: int | None = None
    max_mfe_regression_bps: float | None = None
    max_mae_worsening_bps: float | None = None
    allow_feature_version_change: bool | None = None
    force_promote: bool = False


def load_governance_environment() -> GovernanceEnvironment:
    """``MODEL_GOV_*`` values; an unknown ``MODEL_GOV_*`` name is refused (a misspelt gate
    must not silently leave the default in force)."""
    known = [f"MODEL_GOV_{name.upper()}" for name in GovernanceEnvironment.model_fields]
    for name in sorted(n for n in os.environ if n.startswith("MODEL_GOV_") and n not in known):
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {guess[0]}?" if guess else f"known: {', '.join(known)}"
        raise ConfigError(f"environment: unknown variable {name}. Fix: unset it; {hint}")
    try:
        return GovernanceEnvironment()
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error("environment (MODEL_GOV_*)", GovernanceEnvironment, exc)
        ) from None


class VenueEnvironment(BaseSettings):
    """``EXCHANGE_*``: which real venue live trading uses, and its paper (Alpaca paper,
    Bybit testnet) or real endpoint. Credentials stay in ``ALPACA_API_KEY_ID`` /
    ``ALPACA_API_SECRET_KEY`` and ``BYBIT_API_KEY`` / ``BYBIT_API_SECRET``."""

    model_config = SettingsConfigDict(env_prefix="EXCHANGE_", extra="ignore", frozen=True)

    mode: Literal["paper", "real"] = "paper"
    venue: str | None = None  # a name in bootstrap.venues.VENUES (checked there)
    base_url: str | None = None  # a gateway or test server instead of the venue's endpoint


def load_venue_environment() -> VenueEnvironment:
    """``EXCHANGE_*`` values; an unknown ``EXCHANGE_*`` name is refused with a hint."""
    known = [f"EXCHANGE_{name.upper()}" for name in VenueEnvironment.model_fields]
    for name in sorted(n for n in os.environ if n.startswith("EXCHANGE_") and n not in known):
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {guess[0]}?" if guess else f"known: {', '.join(known)}"
        raise ConfigError(f"environment: unknown variable {name}. Fix: unset it; {hint}")
    try:
        return VenueEnvironment(_env_file=os.environ.get("TRADELOOP_SECRETS_FILE"))
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error("environment (EXCHANGE_*)", VenueEnvironment, exc)
        ) from None
