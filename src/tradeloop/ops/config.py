"""Configuration of the end-to-end loop (``tradeloop demo``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from tradeloop.core.config import FrozenConfig
from tradeloop.core.time import parse_ns


class LoopConfig(FrozenConfig):
    """Which data the loop runs on and how the active model is traded."""

    RENAMED: ClassVar[dict[str, str]] = {"bar_interval_sec": "bar_interval_s"}

    provider: Literal["bundled", "synthetic"] = Field(
        "bundled", description="bundled (real history in packages) | synthetic (seeded)"
    )
    symbols: tuple[str, ...] = Field(
        ("^GSPC", "^IXIC"), min_length=1, description="trained together; the first is traded"
    )
    bar_interval_s: int = Field(86_400, gt=0, description="bar size in seconds")
    as_of: str | None = Field(None, description="ISO date; default: the last stored bar")
    history_start: str = Field("1990-01-01", description="ISO date of the first bar to ingest")
    model_name: str = Field(
        "demo-drawdown", pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="registry name"
    )
    exit_probability: float = Field(
        0.25, gt=0, lt=1, description="step aside when P(drawdown) is at or above this"
    )
    exposure_fraction: float = Field(0.95, gt=0, le=1, description="equity invested when long")
    quick_last_bars: int = Field(1500, ge=400, description="bars per symbol with --quick")

    @field_validator("as_of", "history_start")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is not None:
            parse_ns(value)
        return value


class BackupConfig(FrozenConfig):
    """Snapshots of the database, models, reports and trading accounts, and their drills."""

    root: str | None = Field(None, description="where snapshots go (unset: TRADELOOP_HOME/backups)")
    daily_keep: int = Field(7, ge=1, le=365, description="newest daily snapshots kept")
    weekly_keep: int = Field(4, ge=0, le=260, description="older snapshots kept, one per ISO week")
    pg_dump: str = Field("pg_dump", description="pg_dump binary (PostgreSQL databases)")
    pg_restore: str = Field("pg_restore", description="pg_restore binary (restore drills)")
    max_age_hours: float = Field(
        36.0, gt=0, description="restore drills fail on a newest snapshot older than this"
    )


class HealthConfig(FrozenConfig):
    """``tradeloop health``: host and stack checks, and their warn / crit thresholds."""

    RENAMED: ClassVar[dict[str, str]] = {"interval_sec": "interval_s"}

    interval_s: int = Field(300, ge=10, description="scheduler: seconds between checks")
    disk_warn_pct: float = Field(80.0, gt=0, le=100, description="disk used: warn at")
    disk_crit_pct: float = Field(90.0, gt=0, le=100, description="disk used: crit at")
    db_growth_min_mb: float = Field(
        1.0, ge=0, description="database growth below this since the last check is noise"
    )
    db_growth_warn_mb: float = Field(500.0, gt=0, description="growth since last check: warn")
    db_growth_crit_mb: float = Field(2000.0, gt=0, description="growth since last check: crit")
    restart_warn_delta: int = Field(
        3, ge=1, description="component restarts since the last check: warn at"
    )
    check_services: bool = Field(True, description="probe the scorer's and collector's /health")


Channel = Literal["email", "webhook", "slack"]


class NotifyConfig(FrozenConfig):
    """Notifications (reports, alerts). Secrets stay in the environment: NOTIFY_SMTP_PASSWORD,
    NOTIFY_WEBHOOK_URL, NOTIFY_SLACK_WEBHOOK_URL."""

    channels: tuple[Channel, ...] = Field((), description="primary channels (all are sent to)")
    failover_channels: tuple[Channel, ...] = Field(
        (), description="tried in order when a primary channel fails"
    )
    on_retrain: bool = Field(False, description="send the retrain report after each cycle")
    email_to: tuple[str, ...] = Field((), description="recipients of the email channel")
    email_from: str = Field("tradeloop@localhost", description="sender address")
    smtp_host: str = Field("127.0.0.1", description="SMTP server")
    smtp_port: int = Field(587, ge=1, le=65535, description="587 STARTTLS, 465 TLS, 25 none")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls, tls (implicit) or none (a local relay only)"
    )
    smtp_user: str | None = Field(None, description="login (password: NOTIFY_SMTP_PASSWORD)")
    smtp_ca_file: str | None = Field(None, description="CA bundle for a private SMTP server")
    timeout_s: float = Field(10.0, gt=0, le=120, description="per-delivery timeout")
    include_log_tails: bool = Field(False, description="append the last log lines (redacted)")
    log_tail_lines: int = Field(20, ge=1, le=500, description="lines per log file")
    log_files: tuple[str, ...] = Field(
        ("logs/errors.jsonl",), description="log files (under TRADELOOP_HOME) to tail"
    )


class SchedulerConfig(FrozenConfig):
    """``tradeloop scheduler``: what runs when (times in ``timezone``)."""

    RENAMED: ClassVar[dict[str, str]] = {
        "health_every_seconds": "health_every_s",
        "misfire_grace_seconds": "misfire_grace_s",
        "job_timeout_seconds": "job_timeout_s",
    }

    timezone: str = Field("America/New_York", description="zone of the times below")
    retrain_every_hours: float = Field(6.0, ge=0, description="retrain cycle period; 0: off")
    retrain_symbols: tuple[str, ...] = Field(
        (), description="symbols the retrain cycle ingests (empty: collector.symbols)"
    )
    report_times: tuple[str, ...] = Field(
        ("16:30", "08:30"), description="daily report HH:MM (after the close, the morning)"
    )
    report_weekdays: str = Field("mon-fri", description="days of the daily report (cron style)")
    report_notify: bool = Field(True, description="send the report through notify.channels")
    backup_hour: int = Field(2, ge=0, le=23, description="nightly backup: hour")
    backup_minute: int = Field(30, ge=0, le=59, description="nightly backup: minute")
    drill_weekday: str = Field("sun", description="weekly restore drill: day")
    drill_hour: int = Field(3, ge=0, le=23, description="weekly restore drill: hour")
    drill_minute: int = Field(30, ge=0, le=59, description="weekly restore drill: minute")
    health_every_s: int = Field(300, ge=10, description="host health check period")
    catch_up: bool = Field(
        True, description="on start, run once a job whose time passed while we were down"
    )
    misfire_grace_s: int = Field(
        3600, ge=1, description="a run this late (scheduler busy) still runs; later: missed"
    )
    job_timeout_s: int = Field(6 * 3600, ge=10, description="a job running longer is killed")

    @field_validator("report_times")
    @classmethod
    def _times(cls, times: tuple[str, ...]) -> tuple[str, ...]:
        for value in times:
            hour, _, minute = value.partition(":")
            if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
                raise ValueError(f"report_times: {value!r} is not HH:MM")
        return times


class ApiConfig(FrozenConfig):
    """The control API (``tradeloop serve api``)."""

    host: str = Field("127.0.0.1", description="bind address (beyond loopback needs a token)")
    port: int = Field(5002, ge=0, le=65535, description="port of the control API")
    allowed_hosts: tuple[str, ...] = Field(
        (), description="host names clients may use besides localhost (DNS-rebinding guard)"
    )
    rate_limit_per_minute: int | None = Field(
        600, ge=1, description="requests per client address per minute (then 429)"
    )


class StreamConfig(FrozenConfig):
    """The order-book stream (``tradeloop serve stream``: WebSocket ``/v1/stream``)."""

    host: str = Field("127.0.0.1", description="bind address (beyond loopback needs a token)")
    port: int = Field(5004, ge=0, le=65535, description="port of the stream server")
    queue_bins: int = Field(
        256, ge=1, le=100_000, description="bins a client may fall behind before bins drop"
    )
    default_speed: str = Field(
        "1", pattern=r"^(max|\d+(\.\d+)?x?)$", description="replay speed: 1, 10 (x) or max"
    )
