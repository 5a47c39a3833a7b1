"""The CLI as a user runs it: a real process, a fresh runtime root, real exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

TRADELOOP = [sys.executable, "-m", "tradeloop.cli"]


def _run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TRADELOOP_")
    }
    environment.update({"TRADELOOP_HOME": str(home), "COLUMNS": "120", **env})
    return subprocess.run(
        [*TRADELOOP, *args],
        cwd=home.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_demo_quick_when_fresh_home_then_report_and_active_model(tmp_path: Path) -> None:
    home = tmp_path / "var"
    result = _run(["demo", "--quick", "--json"], home)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["promoted"] is True
    assert summary["metrics"]["auc"] > summary["baseline"]["auc"]
    report = Path(summary["report"])
    if not report.is_absolute():
        report = tmp_path / report
    text = report.read_text()
    for needle in ("Total return", "Sharpe", "Max drawdown", "Win rate", "buy and hold"):
        assert needle in text
    # Buy and hold at the strategy's own exposure, and fully invested; both labelled.
    assert summary["exposure_fraction"] == 0.2
    assert "| metric | strategy (at most 20% of equity) | buy and hold, 20% of equity | " in text
    assert "buy and hold, fully invested (no costs)" in text
    assert "Position size: 20% of equity" in text
    full, same = summary["buy_and_hold_full"], summary["buy_and_hold"]
    assert full["total_return"] == pytest.approx(5 * same["total_return"], rel=0.1)
    png = report.with_name(report.stem + "_equity.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model_dir = home / "models" / summary["model_version_id"]
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["feature_schema_hash"]
    assert manifest["data_start"] < manifest["data_end"] <= summary["as_of"]
    assert (model_dir / "model.onnx").stat().st_size > 1000
    assert (home / "tradeloop.db").exists()

    # The same loop again: the store is idempotent, the active alias moves, nothing breaks.
    def stored() -> tuple[int, int, str]:
        with sqlite3.connect(home / "tradeloop.db") as db:
            bars = db.execute("SELECT count(*) FROM price_history").fetchone()[0]
            unique = db.execute(
                "SELECT count(*) FROM (SELECT DISTINCT symbol, ts, bar_interval_sec "
                "FROM price_history)"
            ).fetchone()[0]
            active = db.execute(
                "SELECT model_version_id FROM model_aliases WHERE alias = 'active'"
            ).fetchone()[0]
        return bars, unique, active

    first_bars, _, first_active = stored()
    assert first_active == summary["model_version_id"]
    second = _run(["demo", "--quick", "--json"], home)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    bars, unique, active = stored()
    assert bars == unique == first_bars  # the same bars again: nothing stored twice
    assert again["promoted"] is True
    assert active == again["model_version_id"]
    assert again["metrics"] == summary["metrics"]  # same data, same seed: same model
    assert again["model_version_id"] == summary["model_version_id"]  # content-derived id
    second_report = Path(again["report"])
    second_report = second_report if second_report.is_absolute() else tmp_path / second_report
    assert "Total return" in second_report.read_text()


def test_help_when_asked_then_commands_and_examples_listed(tmp_path: Path) -> None:
    result = _run(["--help"], tmp_path / "var")
    assert result.returncode == 0
    for word in (
        "demo",
        "config",
        "db",
        "ingest",
        "verify",
        "repair",
        "collect",
        "labels",
        "export",
        "Examples",
        "Exit codes",
    ):
        assert word in result.stdout


def test_config_validate_when_bad_then_exit_2_and_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("risk:\n  max_gross_leverag: 2\n")
    result = _run(["config", "validate", str(bad)], tmp_path / "var")
    assert result.returncode == 2
    assert "risk.max_gross_leverag" in result.stderr
    assert "did you mean 'max_gross_leverage'" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_show_when_secrets_set_then_redacted(tmp_path: Path) -> None:
    result = _run(
        ["config", "show", "--json"],
        tmp_path / "var",
        TRADELOOP_DB_URL="postgresql://app:s3cret-pw@127.0.0.1:5432/x",
        TRADELOOP_API_TOKEN="tok-ABCDEF-123456",
    )
    assert result.returncode == 0, result.stderr
    assert "s3cret-pw" not in result.stdout
    assert "tok-ABCDEF-123456" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["environment"]["api_token"] == "***"


def test_demo_when_database_unreachable_then_exit_3_and_nothing_written(tmp_path: Path) -> None:
    home = tmp_path / "var"
    result = _run(["demo", "--quick"], home, TRADELOOP_DB_URL="postgresql://u:pw@127.0.0.1:1/none")
    assert result.returncode == 3  # the documented "retry later"
    assert "cannot connect to database" in result.stderr
    assert "pw@" not in result.stderr
    assert not home.exists()


def test_demo_when_config_invalid_then_exit_2_before_touching_disk(tmp_path: Path) -> None:
    home = tmp_path / "var"
    config = tmp_path / "tradeloop.yaml"
    config.write_text("loop:\n  provider: nowhere\n  exit_probability: 1.5\n")
    result = _run(["demo", "--config", str(config)], home)
    assert result.returncode == 2
    assert "loop.exit_probability" in result.stderr
    assert not home.exists()


def test_db_when_url_of_an_unsupported_database_then_exit_2_without_traceback(
    tmp_path: Path,
) -> None:
    result = _run(["db", "status"], tmp_path / "var", TRADELOOP_DB_URL="mysql://u:pw@h/x")
    assert result.returncode == 2
    assert "mysql is not supported" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pw@" not in result.stderr


def test_config_when_not_utf8_then_exit_2_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"risk:\n  max_position_size: 0.1 \xff\xfe\n")
    result = _run(["config", "validate", str(bad)], tmp_path / "var")
    assert result.returncode == 2
    assert f"{bad}:2: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_when_repeated_then_same_revision(tmp_path: Path) -> None:
    home = tmp_path / "var"
    first = _run(["db", "upgrade"], home)
    second = _run(["db", "upgrade"], home)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    status = _run(["db", "status"], home)
    assert "up to date" in status.stdout
    described = json.loads(_run(["db", "status", "--json"], home).stdout)
    assert described["up_to_date"] is True
    assert described["revision"] == described["head"]


def test_any_command_when_env_variable_misspelled_then_exit_2_with_hint(tmp_path: Path) -> None:
    result = _run(["config", "show"], tmp_path / "var", TRADELOOP_DB_ULR="postgresql://x/y")
    assert result.returncode == 2
    assert "TRADELOOP_DB_ULR" in result.stderr
    assert "did you mean TRADELOOP_DB_URL" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ingest", "--end", "2026-07-01"], "--end '2026-07-01' is in the future"),
        (["ingest", "--start", "2020-01-01", "--end", "2019-01-01"], "the range is reversed"),
        (["repair", "--symbol", "SPY", "--from", "2020-02-01", "--to", "2020-01-01"], "reversed"),
        (["run", "--tickers", "SPY", "--start", "9999-12-31"], "--start '9999-12-31' is in the"),
        (["run", "--tickers", "SPY", "--end", "1492-10-12"], "is before 1900-01-01"),
        (["labels", "build", "--as-of", "2027-01-01"], "--as-of '2027-01-01' is in the future"),
        (["daemon", "--tickers", "SPY", "--start", "2026-06-04"], "is in the future"),
    ],
)
def test_dates_when_future_reversed_or_out_of_range_then_exit_2_before_any_work(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    home = tmp_path / "var"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "tradeloop.testing.pinned_clock", "2026-06-03T18:00:00Z", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / "tradeloop.db").exists() or args[0] != "ingest"  # nothing written


def test_models_evaluate_when_forced_without_reason_then_refused(tmp_path: Path) -> None:
    result = _run(["models", "evaluate", "--force"], tmp_path / "var")
    assert result.returncode == 2
    assert "--force overrides failed gates and needs --reason TEXT" in result.stderr


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("", "empty or blank"),
        ("   ", "empty or blank"),
        ("sh0rt-s3cret", "12 characters, fewer than 16"),
        ("a long token with spaces", "contains whitespace"),
    ],
)
def test_api_token_when_empty_blank_short_or_spaced_then_refused_at_start(
    tmp_path: Path, token: str, why: str
) -> None:
    # Any of these would switch bearer auth off or make it guessable on servers that may
    # bind beyond loopback; the scorer and control API never start with one.
    for command in (["serve", "scorer", "--host", "0.0.0.0"], ["serve", "api"]):
        result = _run(command, tmp_path / "var", TRADELOOP_API_TOKEN=token)
        assert result.returncode == 2
        assert why in result.stderr
        assert "TRADELOOP_API_TOKEN" in result.stderr or "api_token" in result.stderr
        if token.strip():
            assert token not in result.stderr + result.stdout


@pytest.mark.parametrize("command", [["serve", "scorer"], ["serve", "api"], ["collect"]])
def test_port_when_outside_1_to_65535_then_refused_not_wrapped(
    tmp_path: Path, command: list[str]
) -> None:
    result = _run([*command, "--port", "71826"], tmp_path / "var")  # 71826 % 65536 = 6290
    assert result.returncode == 2
    assert "--port" in result.stderr
    assert "65535" in result.stderr


@pytest.mark.parametrize("command", [["models", "list"], ["models", "show", "active"], ["verify"]])
def test_read_only_command_when_database_is_not_tradeloops_then_refused_and_nothing_written(
    tmp_path: Path, command: list[str]
) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    result = _run(command, tmp_path / "var", TRADELOOP_DB_URL=f"sqlite:///{foreign}")
    assert result.returncode == 2
    assert "holds no tradeloop schema" in result.stderr
    with sqlite3.connect(foreign) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert tables == {"customers"}  # not one table created
    fresh = _run(command, tmp_path / "home")
    assert fresh.returncode == 2
    assert "no database yet" in fresh.stderr
    assert not (tmp_path / "home").exists()


def test_db_status_when_no_database_then_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = _run(["db", "status"], tmp_path / "var")
    assert result.returncode == 1
    assert "no database yet" in result.stdout
    assert not (tmp_path / "var").exists()


def test_write_command_when_it_creates_the_schema_then_says_so_once(tmp_path: Path) -> None:
    home = tmp_path / "var"
    first = _run(["halt", "--reason", "migration notice"], home)
    assert first.returncode == 0, first.stderr
    assert "migrated from an empty database to revision" in first.stderr
    again = _run(["resume"], home)
    assert again.returncode == 0, again.stderr
    assert "migrated" not in again.stderr
