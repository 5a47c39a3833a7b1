"""LightGBM splits on float64 thresholds; ONNX stores them as float32, rounded to nearest.
A feature value just above a threshold that rounds up onto it went left in ONNX and right
in LightGBM: the served model disagreed with the trained one (train/serve skew). Snapping
each threshold down to the largest float32 at or below it keeps every LightGBM decision
on float32 inputs and makes ONNX agree."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from tradeloop.models.onnx_export import export_lightgbm, float32_thresholds, onnx_predictions


def _adjacent_values_model(low: np.float32) -> tuple[lgb.LGBMRegressor, np.ndarray]:
    """A split between two adjacent float32 values: its float64 midpoint rounds to the
    upper one (round half to even), the case that sent rows the wrong way."""
    high = np.nextafter(low, np.float32(np.inf))
    rng = np.random.default_rng(1)
    column = np.where(np.arange(400) % 2 == 0, low, high).astype(np.float32)
    features = np.column_stack([column, rng.normal(size=400)]).astype(np.float32)
    target = np.where(column == low, 0.0, 100.0) + rng.normal(size=400)
    model = lgb.LGBMRegressor(n_estimators=5, num_leaves=3, min_child_samples=20, verbose=-1)
    return model.fit(features, target), features


@pytest.mark.parametrize(
    "low", [np.float32(215.07019), np.float32(1.0000001), np.float32(77.00001)]
)
def test_thresholds_when_snapped_then_onnx_matches_lightgbm_on_every_row(low: np.float32) -> None:
    model, features = _adjacent_values_model(low)
    raw_gap = np.abs(
        model.predict(features) - onnx_predictions(export_lightgbm(model, 2), features)
    )
    assert raw_gap.max() > 1.0  # the skew this guards against is real

    before = model.predict(features)
    snapped = float32_thresholds(model)

    assert np.array_equal(snapped.predict(features), before)  # LightGBM decides as before
    served = onnx_predictions(export_lightgbm(snapped, 2), features)
    assert np.abs(snapped.predict(features) - served).max() < 1e-4


def test_thresholds_when_snapped_then_each_is_a_float32_at_or_below_the_original() -> None:
    model, _ = _adjacent_values_model(np.float32(3.0000002))
    original = _thresholds(model)
    snapped = _thresholds(float32_thresholds(model))
    assert np.all(snapped <= original)
    assert np.array_equal(snapped.astype(np.float32).astype(np.float64), snapped)
    # nothing representable in float32 lies between the two: no decision can change
    above = np.nextafter(snapped.astype(np.float32), np.float32(np.inf)).astype(np.float64)
    assert np.all(above > original)


def _thresholds(model: lgb.LGBMRegressor) -> np.ndarray:
    lines = model.booster_.model_to_string().splitlines()
    values = [v for line in lines if line.startswith("threshold=") for v in line[10:].split()]
    return np.array(values, dtype=np.float64)
