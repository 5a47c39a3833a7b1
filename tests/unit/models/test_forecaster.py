"""ARIMA forecasts checked against statsmodels itself; the EWMA fallback against pandas."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tradeloop.models.config import ForecastConfig
from tradeloop.models.forecaster import forecast_returns


def _prices(n: int = 600, seed: int = 0, phi: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0003, 0.01, n)
    returns = np.zeros(n)
    for i in range(1, n):  # an AR(1) in returns: something for ARIMA to find
        returns[i] = phi * returns[i - 1] + shocks[i]
    return 100 * np.exp(np.cumsum(returns))


def test_arima_when_it_converges_then_cumulative_statsmodels_forecast_per_horizon() -> None:
    from statsmodels.tsa.arima.model import ARIMA

    prices = _prices()
    config = ForecastConfig(horizons=(1, 5, 20), window=500)
    made = forecast_returns(prices, config)
    assert made.method == "arima"
    assert not made.fell_back
    returns = np.diff(np.log(prices))[-500:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = ARIMA(returns, order=(1, 0, 1)).fit(method_kwargs={"maxiter": 50}).forecast(20)
    expected = np.cumsum(path)[[0, 4, 19]]
    assert made.log_returns == pytest.approx(tuple(expected), rel=1e-9, abs=1e-12)
    assert made.observations == 500


def _ewma_reference(prices: np.ndarray, span: int, window: int) -> float:
    returns = np.diff(np.log(prices))[-window:]
    return float(pd.Series(returns).ewm(span=span, adjust=True).mean().iloc[-1])


def test_arima_when_optimizer_does_not_converge_then_ewma_and_counted() -> None:
    prices = _prices()
    config = ForecastConfig(max_iterations=1, ewma_span=10)
    made = forecast_returns(prices, config)
    assert made.fell_back
    assert made.method == "ewma"
    assert "did not converge" in made.reason
    mean = _ewma_reference(prices, 10, config.window)
    assert made.log_returns == pytest.approx((mean, 5 * mean, 20 * mean))


@pytest.mark.parametrize(
    ("prices", "reason"),
    [
        (_prices(30), "min_observations"),
        (np.full(200, 42.0), "no variance"),
        (np.array([]), "min_observations"),
    ],
)
def test_forecast_when_series_cannot_carry_arima_then_ewma_with_the_reason(
    prices: np.ndarray, reason: str
) -> None:
    made = forecast_returns(prices)
    assert made.fell_back
    assert reason in made.reason
    assert all(np.isfinite(made.log_returns))


def test_forecast_when_bad_prices_then_they_are_skipped_not_fatal() -> None:
    prices = _prices(300)
    dirty = prices.copy()
    dirty[[10, 50, 90]] = [np.nan, -1.0, 0.0]
    made = forecast_returns(dirty)
    assert all(np.isfinite(made.log_returns))
    assert made.observations == 300 - 3 - 1


def test_forecast_config_when_horizon_not_positive_then_refused() -> None:
    with pytest.raises(ValueError, match="horizons"):
        ForecastConfig(horizons=(0, 5))
