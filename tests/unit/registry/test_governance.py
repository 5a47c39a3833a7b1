"""Each MODEL_GOV rule, decided on constructed manifests."""

from __future__ import annotations

from typing import Any

import pytest

from tradeloop.registry.gates import GateConfig
from tradeloop.registry.governance import GovernanceConfig, evaluate_governance

MS = 1_000_000


def _entry(
    target: str,
    horizon: int,
    *,
    auc: float = 0.62,
    mfe: float = 30.0,
    mae: float = 20.0,
    parity: float = 1e-7,
) -> dict[str, Any]:
    return {
        "target": target,
        "horizon_bars": horizon,
        "parity_max_abs": parity,
        "parity_tolerance": 1e-5,
        "metrics": {
            "auc": auc,
            "log_loss": 0.66,
            "samples": 1000.0,
            "avg_mfe_bps": mfe,
            "avg_mae_bps": mae,
        },
        "baseline": {"auc": 0.5, "log_loss": 0.69, "samples": 1000.0},
    }


def _manifest(
    version: str, trained_end_ms: int = 1000, feature_version: str = "f1", **entries: dict[str, Any]
) -> dict[str, Any]:
    return {
        "model_version_id": version,
        "trained_end_ns": trained_end_ms * MS,
        "feature_version": feature_version,
        "models": entries or {"held5": _entry("held", 5), "held15": _entry("held", 15)},
    }


def _gate(candidate: dict[str, Any], active: dict[str, Any] | None, **config: Any) -> Any:
    return evaluate_governance(candidate, active, GovernanceConfig(**config), GateConfig())


def test_first_candidate_when_it_beats_baseline_then_passes() -> None:
    result = _gate(_manifest("c"), None)
    assert result.passed, result.reasons


@pytest.mark.parametrize(
    ("config", "failing"),
    [
        ({"required_targets": ("broke",)}, "required_targets"),
        ({"required_horizons": (60,)}, "required_horizons"),
    ],
)
def test_required_targets_and_horizons_when_missing_then_refused(
    config: dict[str, Any], failing: str
) -> None:
    result = _gate(_manifest("c"), None, **config)
    assert not result.passed
    assert result.checks[failing] is False


def test_candidate_when_no_skill_over_baseline_then_refused() -> None:
    weak = _manifest("c", held5=_entry("held", 5, auc=0.505))
    result = _gate(weak, None)
    assert result.checks["beats_baseline"] is False
    assert "AUC 0.5050" in result.details["beats_baseline"]


def test_candidate_when_parity_exceeded_then_refused() -> None:
    result = _gate(_manifest("c", held5=_entry("held", 5, parity=1e-3)), None)
    assert result.checks["onnx_parity"] is False


def test_trained_end_when_not_advanced_enough_then_refused() -> None:
    active = _manifest("a", trained_end_ms=1_000)
    assert _gate(_manifest("c", trained_end_ms=1_500), active, min_trained_end_delta_ms=500).passed
    late = _gate(_manifest("c", trained_end_ms=1_499), active, min_trained_end_delta_ms=500)
    assert late.checks["trained_end_advance"] is False
    assert "499 ms" in late.details["trained_end_advance"]


def test_mfe_when_regressed_beyond_limit_then_refused() -> None:
    active = _manifest("a", held5=_entry("held", 5, mfe=30.0))
    ok = _manifest("c", held5=_entry("held", 5, mfe=26.0))
    bad = _manifest("c", held5=_entry("held", 5, mfe=24.0))
    assert _gate(ok, active, max_mfe_regression_bps=5.0).passed
    result = _gate(bad, active, max_mfe_regression_bps=5.0)
    assert result.checks["mfe_regression"] is False
    assert "-6.0 bps" in result.details["mfe_regression"]


def test_mae_when_worsened_beyond_limit_then_refused() -> None:
    active = _manifest("a", held5=_entry("held", 5, mae=20.0))
    bad = _manifest("c", held5=_entry("held", 5, mae=26.0))
    result = _gate(bad, active, max_mae_worsening_bps=5.0)
    assert result.checks["mae_worsening"] is False


def test_comparison_when_active_scored_on_candidate_window_then_that_is_used() -> None:
    # The active's own manifest says MFE 40, but on the candidate's window it made 25:
    # the same-window figure is the fair comparison.
    active = _manifest("a", held5=_entry("held", 5, mfe=40.0))
    entry = _entry("held", 5, mfe=28.0)
    entry["vs_active"] = {
        "model_version_id": "a",
        "metrics": {"avg_mfe_bps": 25.0, "avg_mae_bps": 20.0},
    }
    assert _gate(_manifest("c", held5=entry), active).passed


def test_feature_version_change_when_not_allowed_then_refused() -> None:
    active = _manifest("a", feature_version="f1")
    candidate = _manifest("c", feature_version="f2")
    assert _gate(candidate, active).checks["feature_version"] is False
    assert _gate(candidate, active, allow_feature_version_change=True).passed


def test_candidate_when_it_drops_a_model_the_active_has_then_refused() -> None:
    active = _manifest("a")
    candidate = _manifest("c", held5=_entry("held", 5))
    result = _gate(candidate, active)
    assert result.checks["keeps_active_coverage"] is False
    assert "held@15" in result.details["keeps_active_coverage"]


def test_model_gov_environment_when_misspelt_then_refused_with_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradeloop.core.errors import ConfigError
    from tradeloop.settings import load_governance_environment

    monkeypatch.setenv("MODEL_GOV_MAX_MFE_REGRESION_BPS", "3")
    with pytest.raises(ConfigError, match="did you mean MODEL_GOV_MAX_MFE_REGRESSION_BPS"):
        load_governance_environment()
    monkeypatch.delenv("MODEL_GOV_MAX_MFE_REGRESION_BPS")
    monkeypatch.setenv("MODEL_GOV_MAX_MFE_REGRESSION_BPS", "3")
    monkeypatch.setenv("MODEL_GOV_REQUIRED_HORIZONS", "5,15")
    environment = load_governance_environment()
    assert environment.max_mfe_regression_bps == 3.0


def test_next_steps_when_checks_refuse_then_one_line_each_saying_what_to_do() -> None:
    from tradeloop.registry.governance import NEXT_STEPS, next_steps

    active = _manifest("a", trained_end_ms=2_000, feature_version="f0")
    weak = _manifest("c", held5=_entry("held", 5, auc=0.505, parity=1e-3))
    result = _gate(weak, active, required_targets=("broke",), min_trained_end_delta_ms=1)
    refused = [name for name, ok in result.checks.items() if not ok]
    steps = next_steps(result)
    assert [s.split(":", 1)[0] for s in steps] == refused
    assert {"beats_baseline", "onnx_parity", "trained_end_advance", "feature_version"} <= set(
        refused
    )
    assert any("collect --source bundled" in s for s in steps if s.startswith("beats_baseline"))
    assert next_steps(_gate(_manifest("c"), None)) == []
    # every check the gates can refuse has a next step
    assert set(result.checks) - {"first_active"} <= set(NEXT_STEPS)
