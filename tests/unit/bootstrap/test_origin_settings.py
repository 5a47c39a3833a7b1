"""Users arrive from the five stacks with their own variables and defaults: every origin
variable is honoured (it sets its config key, over the file) or answered with one warning
naming tradeloop's equivalent; a profile lays an origin's documented defaults under the
config file, each value traceable to its origin line (docs/migration.md)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeloop.bootstrap import origin_environment
from tradeloop.bootstrap.app import collector_config, load_app_config, profile_report
from tradeloop.bootstrap.origin_environment import ORIGIN_VARIABLES, origin_overrides
from tradeloop.bootstrap.profiles import NOT_APPLIED, PROFILES
from tradeloop.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no ./tradeloop.yaml of the checkout is picked up
    monkeypatch.setattr(origin_environment, "_warned", set())
    return tmp_path


def _config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tradeloop.yaml"
    path.write_text(text)
    return path


def test_origin_variable_when_set_then_its_config_key_takes_the_value() -> None:
    environ = {
        "ML_SERVER_PORT": "6003",
        "BACKUP_HOUR": "4",
        "ML_REPORT_NOTIFY_CHANNELS": "email, webhook",
        "ML_REPORT_SMTP_USE_TLS": "false",
        "HOST_HEALTH_DISK_WARN_PCT": "70",
        "RETRAIN_SYMBOLS": "SPY,QQQ",
    }
    config, source = load_app_config(None, environ=environ)
    assert config.scorer.port == 6003
    assert config.scheduler.backup_hour == 4
    assert config.notify.channels == ("email", "webhook")
    assert config.notify.smtp_security == "none"
    assert config.health.disk_warn_pct == 70.0
    assert config.scheduler.retrain_symbols == ("SPY", "QQQ")
    assert "ML_SERVER_PORT" in source
    assert "RETRAIN_SYMBOLS" in source


def test_origin_variable_when_the_file_sets_the_key_too_then_the_environment_wins(
    tmp_path: Path,
) -> None:
    path = _config_file(tmp_path, "scorer:\n  port: 7000\n  host: '127.0.0.1'\n")
    config, _ = load_app_config(path, environ={"ML_SERVER_PORT": "6003"})
    assert config.scorer.port == 6003


@pytest.mark.parametrize(("raw", "day"), [("0", "sun"), ("7", "sun"), ("1", "mon"), ("Sat", "sat")])
def test_restore_drill_weekday_when_launchd_number_or_name_then_the_day(raw: str, day: str) -> None:
    config, _ = load_app_config(None, environ={"RESTORE_DRILL_WEEKDAY": raw})
    assert config.scheduler.drill_weekday == day


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("ML_SERVER_PORT", "abc", "expected a whole number"),
        ("ML_REPORT_NOTIFY_ON_RETRAIN", "maybe", "expected one of"),
        ("RESTORE_DRILL_WEEKDAY", "9", "0-7"),
    ],
)
def test_origin_variable_when_value_unreadable_then_error_names_variable_value_and_key(
    name: str, raw: str, says: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_app_config(None, environ={name: raw})
    assert name in str(error.value)
    assert repr(raw) in str(error.value)
    assert says in str(error.value)


def test_origin_variable_when_converted_but_out_of_range_then_error_names_the_environment() -> None:
    with pytest.raises(ConfigError, match="ML_SERVER_PORT"):
        load_app_config(None, environ={"ML_SERVER_PORT": "70000"})


def test_unread_origin_variable_when_set_then_one_warning_naming_the_equivalent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {"RF_MANIFEST_PATH": "/srv/manifest_active.json", "REDIS_URL": "redis://x"}
    with caplog.at_level(logging.WARNING, logger="tradeloop.bootstrap"):
        origin_overrides(environ)
        origin_overrides(environ)  # a second config load in the same process: no repeat
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert any("RF_MANIFEST_PATH" in m and "TRADELOOP_MODEL_PATH" in m for m in messages)
    assert any("REDIS_URL" in m and "TRADELOOP_REDIS_URL" in m for m in messages)


def test_origin_variables_read_where_used_when_set_then_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    read_elsewhere = {v.name: "1" for v in ORIGIN_VARIABLES if v.read_by}
    with caplog.at_level(logging.WARNING, logger="tradeloop.bootstrap"):
        overrides = origin_overrides(read_elsewhere)
    assert caplog.records == []
    assert overrides.layer == {}


def test_failover_channels_when_both_origin_names_set_then_the_report_one_wins() -> None:
    environ = {"ML_ALERT_FAILOVER_CHANNELS": "slack", "ML_REPORT_FAILOVER_CHANNELS": "email"}
    config, _ = load_app_config(None, environ=environ)
    assert config.notify.failover_channels == ("email",)
    alone, _ = load_app_config(None, environ={"ML_ALERT_FAILOVER_CHANNELS": "slack"})
    assert alone.notify.failover_channels == ("slack",)


def test_pivotquant_secret_names_when_set_then_read_as_secrets_and_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradeloop.settings import load_notify_secrets, secret_values

    monkeypatch.delenv("NOTIFY_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("NOTIFY_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("ML_REPORT_SMTP_PASS", "pq-smtp-secret")
    monkeypatch.setenv("ML_REPORT_WEBHOOK_URL", "https://hooks.example/T0/pq-hook-secret")
    secrets = load_notify_secrets()
    assert secrets.smtp_password is not None
    assert secrets.smtp_password.get_secret_value() == "pq-smtp-secret"
    assert "pq-smtp-secret" in secret_values()  # so it is scrubbed from every message
    monkeypatch.setenv("NOTIFY_SMTP_PASSWORD", "tradeloop-own-secret")
    assert load_notify_secrets().smtp_password.get_secret_value() == "tradeloop-own-secret"  # type: ignore[union-attr]


def test_live_collector_enabled_when_false_then_the_collector_section_says_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIVE_COLLECTOR_ENABLED", "false")
    config, _ = load_app_config(None, environ={})
    assert collector_config(config).enabled is False


def test_profile_when_named_then_its_values_apply_each_from_its_origin_line() -> None:
    config, source = load_app_config(None, profile="scalper", environ={})
    assert "profile scalper" in source
    assert config.risk.margin_leverage == 10.0
    assert config.risk.notional_cap_usd == 20_000.0
    assert config.risk.min_free_balance_usd == 200.0
    assert config.risk.assumed_stop_bps == 30.0
    assert config.venues.default_venue == "bybit_v5"
    bybit = config.venues.bybit_v5
    assert (bybit.maker_only, bybit.post_only, bybit.reduce_only) == (True, True, True)
    report = profile_report(config)
    assert all(v["in_force"] for v in report["values"])
    assert all(v["origin"].startswith("scalper_readme.md:") for v in report["values"])


def test_profile_pim_when_named_then_the_two_percent_daily_loss_halt_and_first_day_limits() -> None:
    config, _ = load_app_config(None, profile="pim", environ={})
    assert config.risk.daily_loss_limit == 0.02
    assert config.risk.max_position_size == 0.10
    assert config.risk.max_daily_trades == 5
    assert config.execution.allow_short is False
    assert "not_applied" in profile_report(config)


def test_profile_when_the_file_sets_a_key_then_the_file_wins_and_show_says_so(
    tmp_path: Path,
) -> None:
    path = _config_file(tmp_path, "profile: scalper\nrisk:\n  margin_leverage: 3.0\n")
    config, _ = load_app_config(path, environ={})
    assert config.profile == "scalper"
    assert config.risk.margin_leverage == 3.0
    assert config.risk.notional_cap_usd == 20_000.0  # the rest of the profile still holds
    held = {v["key"]: v["in_force"] for v in profile_report(config)["values"]}
    assert held["risk.margin_leverage"] is False
    assert held["risk.notional_cap_usd"] is True


def test_profile_when_named_on_the_command_line_then_it_outranks_the_file(tmp_path: Path) -> None:
    path = _config_file(tmp_path, "profile: scalper\n")
    config, _ = load_app_config(path, profile="pim", environ={})
    assert config.profile == "pim"
    assert config.risk.margin_leverage == 1.0


def test_profile_when_unknown_then_error_lists_the_profiles() -> None:
    with pytest.raises(ConfigError, match="pivotquant, institutional, pim, scalper, qmachina"):
        load_app_config(None, profile="scalpr", environ={})


def test_every_profile_when_applied_alone_then_a_valid_config_with_each_value_in_force() -> None:
    for name in PROFILES:
        config, _ = load_app_config(None, profile=name, environ={})
        assert all(v["in_force"] for v in profile_report(config)["values"]), name


def test_cli_profile_option_when_given_then_config_show_reports_it(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "TRADELOOP_PROFILE"}
    environ["TRADELOOP_HOME"] = str(tmp_path / "var")
    out = subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", "--profile", "pim", "config", "show", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=environ,
        cwd=tmp_path,
    )
    shown = json.loads(out.stdout)
    assert shown["profile"]["name"] == "pim"
    assert shown["config"]["risk"]["daily_loss_limit"] == 0.02


def test_migration_doc_when_read_then_it_lists_every_variable_and_profile_value() -> None:
    doc = (ROOT / "docs" / "migration.md").read_text()
    for variable in ORIGIN_VARIABLES:
        assert f"`{variable.name}`" in doc, variable.name
        if variable.key:
            assert f"`{variable.key}`" in doc, variable.key
    for name, values in PROFILES.items():
        for value in values:
            assert f"`{value.key}`" in doc, (name, value.key)
            assert value.source in doc, (name, value.key)
    for name in NOT_APPLIED:
        assert f"`{name}`" in doc
