from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from tradeloop.bootstrap.app import AppConfig, example_config_text, load_app_config
from tradeloop.core.config import FrozenConfig
from tradeloop.core.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tradeloop.yaml"
    path.write_text(text)
    return path


def test_load_when_key_misspelled_then_error_names_path_and_suggests(tmp_path: Path) -> None:
    path = _write(tmp_path, "execution:\n  comission_rate: 0.001\n")
    with pytest.raises(ConfigError) as error:
        load_app_config(path)
    message = str(error.value)
    assert str(path) in message
    assert "execution.comission_rate" in message
    assert "did you mean 'commission_rate'" in message


def test_load_when_wrong_type_then_error_names_value_and_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, "train:\n  folds: many\n")
    with pytest.raises(ConfigError, match=r"train\.folds.*'many'.*Fix"):
        load_app_config(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "execution:\n  initial_cash_usd: true\n",
            "initial_cash_usd: value error, expected a number",
        ),
        ("risk:\n  max_daily_trades: false\n", "max_daily_trades: value error, expected a number"),
        ("risk:\n  max_position_size: 2\n", "max_position_size 2.0 is more than max_gross_lev"),
        ("risk:\n  max_portfolio_heat: 1.5\n", "max_portfolio_heat 1.5 is more than"),
        ("risk:\n  first_day_position_size: 0.3\n", "above max_position_size 0.2"),
    ],
)
def test_load_when_boolean_for_number_or_fraction_past_leverage_then_refused(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_app_config(_write(tmp_path, text))
    assert fragment in str(error.value)


def test_load_when_fractions_fit_a_higher_leverage_then_accepted(tmp_path: Path) -> None:
    text = "risk:\n  max_gross_leverage: 2\n  max_position_size: 1.5\n  max_portfolio_heat: 2\n"
    config = load_app_config(_write(tmp_path, text))[0]
    assert config.risk.max_position_size == 1.5


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "'nan'"])
def test_load_when_number_not_finite_then_refused(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"execution:\n  initial_cash_usd: {value}\n")
    with pytest.raises(ConfigError, match=r"execution\.initial_cash_usd"):
        load_app_config(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("loop:\n  provider: NO\n", "ambiguous"),
        ("loop:\n  bar_interval_s: 0777\n", "octal"),
        ("loop:\n  provider: bundled\n  provider: synthetic\n", "duplicate key 'provider'"),
        ("", "empty"),
        ("# only a comment\n", "no settings"),
        ("- a\n- b\n", "mapping"),
        ("loop: [unclosed\n", "not valid YAML"),
    ],
)
def test_load_when_yaml_pitfall_then_refused(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_app_config(_write(tmp_path, text))


def test_load_when_quoted_then_string_kept(tmp_path: Path) -> None:
    config, _ = load_app_config(_write(tmp_path, "loop:\n  symbols: ['NO', '^GSPC']\n"))
    assert config.loop.symbols == ("NO", "^GSPC")


def test_config_when_constructed_then_frozen() -> None:
    config = AppConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.execution.commission_rate = 0.5  # type: ignore[misc]


def test_example_config_when_validated_then_matches_defaults_and_documents_every_key() -> None:
    example = Path(__file__).parents[3] / "config" / "tradeloop.example.yaml"
    config, _ = load_app_config(example)
    # its relative universe path is read next to wherever the file is used
    assert config.ingest.universe_path == str(example.parent / "config" / "universe.json")
    ingest = config.ingest.with_changes(universe_path=AppConfig().ingest.universe_path)
    assert config.with_changes(ingest=ingest) == AppConfig()
    assert example.read_text() == example_config_text(), "run: tradeloop config example > " + str(
        example
    )
    for section, top in AppConfig.model_fields.items():
        assert top.description or isinstance(getattr(config, section), FrozenConfig), section
        if not isinstance(getattr(config, section), FrozenConfig):
            continue  # a top-level key (profile): documented by its own description
        for key, field in type(getattr(config, section)).model_fields.items():
            assert field.description, f"{section}.{key} has no description"


def test_config_when_a_renamed_key_is_used_then_it_loads_under_its_new_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tradeloop.usecases.collector_config import CollectorConfig

    old = CollectorConfig.model_validate({"poll_sec": 12, "max_backoff_sec": 60})
    assert (old.poll_s, old.max_backoff_s) == (12, 60)
    assert "'poll_sec' is now 'poll_s'" in caplog.text
    with pytest.raises(ValidationError, match="both set"):
        CollectorConfig.model_validate({"poll_sec": 12, "poll_s": 12})


def test_config_when_fields_are_durations_in_seconds_then_they_end_in_s() -> None:
    """One suffix for seconds: ``_s`` (``_sec`` and ``_seconds`` only as old names)."""

    def fields(model: type[BaseModel], prefix: str = "") -> list[str]:
        names = []
        for name, field in model.model_fields.items():
            names.append(prefix + name)
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                names += fields(annotation, f"{prefix}{name}.")
        return names

    legacy = [n for n in fields(AppConfig) if n.endswith(("_sec", "_seconds", "_secs"))]
    assert legacy == []


def test_config_with_changes_when_a_key_is_unknown_or_a_value_bad_then_config_error() -> None:
    from tradeloop.usecases.collector_config import CollectorConfig

    config = CollectorConfig()
    assert config.with_changes(poll_s=5).poll_s == 5
    with pytest.raises(ConfigError, match="bar_interval_sec"):
        config.with_changes(bar_interval_sec=300, bar_interval_s=300)
    with pytest.raises(ConfigError, match="poll_s"):
        config.with_changes(poll_s=-1)
    with pytest.raises(ConfigError, match="pol_s"):
        config.with_changes(pol_s=5)
    # pydantic's model_copy(update=...) would keep a misspelt key silently: never used.
    source = Path(__file__).resolve().parents[3] / "src" / "tradeloop"
    copies = [p.name for p in source.rglob("*.py") if "model_copy(update" in p.read_text()]
    assert copies == ["config.py"]  # the docstring that says why


def test_config_when_paths_are_relative_then_read_from_the_config_files_folder(
    tmp_path: Path,
) -> None:
    desk = tmp_path / "desk"
    (desk / "config").mkdir(parents=True)
    (desk / "config" / "universe.json").write_text('{"symbols": [{"symbol": "SPY"}]}')
    (desk / "tradeloop.yaml").write_text("ingest:\n  files_dir: csv\n")
    config, _ = load_app_config(desk / "tradeloop.yaml")
    assert config.ingest.files_dir == str((desk / "csv").resolve())
    assert config.ingest.universe_path == str((desk / "config" / "universe.json").resolve())
    (desk / "other.yaml").write_text("ingest:\n  universe_path: /srv/universe.json\n")
    assert load_app_config(desk / "other.yaml")[0].ingest.universe_path == "/srv/universe.json"
