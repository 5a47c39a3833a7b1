"""The origin stacks' environment variables: each is honoured (mapped onto its config key,
over the config file, like ``MODEL_GOV_*``) or, when set, answered with one warning naming
tradeloop's equivalent. Nothing a user exported for PivotQuant, the institutional runbook,
PIM, the scalper or qMachina is silently ignored; docs/migration.md renders this table.

``MODEL_GOV_*``, ``LIVE_COLLECTOR_*``, ``EXCHANGE_*``, ``ALPACA_*`` / ``POLYGON_*`` and the
two notification secrets are read where they are used (``settings``); they are listed here
so that the table is whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tradeloop.bootstrap.profiles import layer_of
from tradeloop.core.errors import ConfigError

log = logging.getLogger("tradeloop.bootstrap")


def _text(value: str) -> str:
    return value.strip()


def _integer(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _number(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError("expected a number") from None


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise ValueError(f"expected one of {', '.join(_TRUE + _FALSE)}")


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday(value: str) -> str:
    """launchd's Weekday (0 or 7 Sunday, 1 Monday, ...) or a day's name."""
    text = value.strip().lower()
    if text.isdigit() and 0 <= int(text) <= 7:
        return _DAYS[int(text) % 7]
    if text[:3] in _DAYS:
        return text[:3]
    raise ValueError("expected 0-7 (0 or 7: Sunday) or a day's name")


def _security(value: str) -> str:
    return "starttls" if _flag(value) else "none"


@dataclass(frozen=True, slots=True)
class OriginVariable:
    """One variable of an origin stack: ``key`` is the config key it sets, or ``read_by``
    says where it is read as it is (both: honoured); otherwise ``equivalent`` is what
    tradeloop reads instead (warned about when set)."""

    name: str
    origin: str
    key: str = ""
    convert: Callable[[str], Any] = _text
    equivalent: str = ""
    read_by: str = ""  # honoured, but read where it is used (not a config key)

    @property
    def honoured(self) -> bool:
        return bool(self.key or self.read_by)


PQ, INST, QM, SCALP = "pivotquant", "institutional", "qmachina", "scalper"


def _pq(name: str, key: str, convert: Callable[[str], Any] = _text) -> OriginVariable:
    return OriginVariable(name, PQ, key, convert)


ORIGIN_VARIABLES: tuple[OriginVariable, ...] = (
    # PivotQuant: stack
    OriginVariable(
        "PIVOT_DB",
        PQ,
        equivalent="TRADELOOP_DB_URL (or TRADELOOP_HOME: the database is HOME/tradeloop.db); "
        "tradeloop does not write into PivotQuant's SQLite file",
    ),
    _pq("ML_SERVER_BIND", "scorer.host"),
    _pq("ML_SERVER_PORT", "scorer.port", _integer),
    # collector (LIVE_COLLECTOR_ENABLED, _SYMBOLS, ... are read with the collector config)
    *(
        OriginVariable(f"LIVE_COLLECTOR_{part}", PQ, read_by="the collector section")
        for part in ("ENABLED", "SYMBOLS", "SOURCE", "RANGE", "POLL_SEC", "SCORE_ENABLED")
    ),
    # retrain
    _pq("RETRAIN_SYMBOLS", "scheduler.retrain_symbols", _names),
    OriginVariable(
        "RF_CANDIDATE_MANIFEST",
        PQ,
        equivalent="the registry alias candidate (tradeloop models show candidate)",
    ),
    OriginVariable(
        "RF_ACTIVE_MANIFEST",
        PQ,
        equivalent="the registry alias active (tradeloop models show active)",
    ),
    OriginVariable(
        "RF_MANIFEST_PATH",
        PQ,
        equivalent="TRADELOOP_MODEL_PATH (a registry version folder the scorer serves)",
    ),
    *(
        OriginVariable(f"MODEL_GOV_{part}", PQ, read_by="the governance section")
        for part in (
            "REQUIRED_TARGETS",
            "REQUIRED_HORIZONS",
            "MIN_TRAINED_END_DELTA_MS",
            "MAX_MFE_REGRESSION_BPS",
            "MAX_MAE_WORSENING_BPS",
            "ALLOW_FEATURE_VERSION_CHANGE",
            "FORCE_PROMOTE",
        )
    ),
    # report notifications
    _pq("ML_REPORT_NOTIFY_CHANNELS", "notify.channels", _names),
    _pq("ML_REPORT_NOTIFY_ON_RETRAIN", "notify.on_retrain", _flag),
    _pq("ML_REPORT_EMAIL_TO", "notify.email_to", _names),
    _pq("ML_REPORT_EMAIL_FROM", "notify.email_from"),
    _pq("ML_REPORT_SMTP_HOST", "notify.smtp_host"),
    _pq("ML_REPORT_SMTP_PORT", "notify.smtp_port", _integer),
    _pq("ML_REPORT_SMTP_USER", "notify.smtp_user"),
    OriginVariable("ML_REPORT_SMTP_PASS", PQ, read_by="NOTIFY_SMTP_PASSWORD's fallback (a secret)"),
    _pq("ML_REPORT_SMTP_USE_TLS", "notify.smtp_security", _security),
    OriginVariable(
        "ML_REPORT_IMESSAGE_TO",
        PQ,
        equivalent="no iMessage channel: notify.channels webhook or slack (NOTIFY_*_URL)",
    ),
    OriginVariable("ML_REPORT_WEBHOOK_URL", PQ, read_by="NOTIFY_WEBHOOK_URL's fallback (a secret)"),
    _pq("ML_REPORT_FAILOVER_CHANNELS", "notify.failover_channels", _names),
    # one failover list serves reports and alerts; the report's variable wins when both are set
    _pq("ML_ALERT_FAILOVER_CHANNELS", "notify.failover_channels", _names),
    _pq("ML_REPORT_INCLUDE_LOG_TAILS", "notify.include_log_tails", _flag),
    _pq("ML_REPORT_LOG_TAIL_LINES", "notify.log_tail_lines", _integer),
    _pq("ML_REPORT_LOG_FILES", "notify.log_files", _names),
    OriginVariable(
        "ML_REPORT_ENV_FILE",
        PQ,
        equivalent="TRADELOOP_SECRETS_FILE (a dotenv file of TRADELOOP_* and NOTIFY_* values)",
    ),
    # backups, restore drill, host health
    _pq("PIVOT_BACKUP_ROOT", "backup.root"),
    _pq("BACKUP_DAILY_KEEP", "backup.daily_keep", _integer),
    _pq("BACKUP_WEEKLY_KEEP", "backup.weekly_keep", _integer),
    _pq("BACKUP_HOUR", "scheduler.backup_hour", _integer),
    _pq("BACKUP_MINUTE", "scheduler.backup_minute", _integer),
    _pq("RESTORE_DRILL_WEEKDAY", "scheduler.drill_weekday", _weekday),
    _pq("RESTORE_DRILL_HOUR", "scheduler.drill_hour", _integer),
    _pq("RESTORE_DRILL_MINUTE", "scheduler.drill_minute", _integer),
    _pq("HOST_HEALTH_CHECK_INTERVAL_SEC", "health.interval_s", _integer),
    _pq("HOST_HEALTH_DISK_WARN_PCT", "health.disk_warn_pct", _number),
    _pq("HOST_HEALTH_DISK_CRIT_PCT", "health.disk_crit_pct", _number),
    _pq("HOST_HEALTH_DB_GROWTH_MIN_MB", "health.db_growth_min_mb", _number),
    _pq("HOST_HEALTH_DB_GROWTH_WARN_MB", "health.db_growth_warn_mb", _number),
    _pq("HOST_HEALTH_DB_GROWTH_CRIT_MB", "health.db_growth_crit_mb", _number),
    _pq("HOST_HEALTH_RESTART_WARN_DELTA", "health.restart_warn_delta", _integer),
    # the institutional runbook: provider switches (credentials keep their names)
    OriginVariable("ALPACA_ENABLED", INST, read_by="the provider switches"),
    OriginVariable("POLYGON_ENABLED", INST, read_by="the provider switches"),
    # the scalper: venue and mode
    OriginVariable("EXCHANGE_MODE", SCALP, read_by="the live venue (paper or real endpoint)"),
    OriginVariable("EXCHANGE_VENUE", SCALP, read_by="the live venue"),
    # qMachina
    OriginVariable(
        "QMACHINA_INSTRUMENT_CONFIG_PATH",
        QM,
        read_by="TRADELOOP_INSTRUMENT_CONFIG's fallback (the MBO commands' instrument file)",
    ),
    OriginVariable("REDIS_URL", QM, equivalent="TRADELOOP_REDIS_URL (the event bus and job queue)"),
)

_warned: set[str] = set()


@dataclass(frozen=True, slots=True)
class OriginOverrides:
    """What the environment set: a nested mapping to lay over the config file, and which
    variable set which key (for ``config show`` and error messages)."""

    layer: dict[str, Any]
    applied: tuple[tuple[str, str], ...]


def origin_overrides(environ: Mapping[str, str]) -> OriginOverrides:
    """The honoured variables that are set, converted; ConfigError naming the variable,
    its value and the fix when one does not convert. Each unread variable that is set is
    warned about once per process, with tradeloop's equivalent."""
    values: list[tuple[str, Any]] = []
    applied: list[tuple[str, str]] = []
    for variable in ORIGIN_VARIABLES:
        raw = environ.get(variable.name)
        if raw is None:
            continue
        if variable.read_by:
            continue
        if not variable.key:
            if variable.name not in _warned:
                _warned.add(variable.name)
                log.warning(
                    "%s is set but tradeloop does not read it; its equivalent: %s",
                    variable.name,
                    variable.equivalent,
                )
            continue
        if any(key == variable.key for _, key in applied):
            continue  # an earlier variable of the table set this key: it wins
        try:
            value = variable.convert(raw)
        except ValueError as exc:
            raise ConfigError(
                f"environment: {variable.name}={raw!r} ({variable.key}): {exc}. Fix: correct "
                "or unset it"
            ) from None
        values.append((variable.key, value))
        applied.append((variable.name, variable.key))
    return OriginOverrides(layer_of(values), tuple(applied))
