"""VaR / CVaR against hand computations on known distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from tradeloop.risk.var import garch, historical, parametric, portfolio_pnl


def test_historical_when_uniform_losses_then_quantile_and_tail_mean() -> None:
    pnl = -np.arange(1, 101, dtype=float)  # losses 1..100
    estimate = historical(pnl, 0.95)
    assert estimate.var == pytest.approx(95.05)  # linear interpolation between 95 and 96
    assert estimate.cvar == pytest.approx(np.mean(np.arange(96, 101)))


def test_parametric_when_normal_sample_then_textbook_formulas() -> None:
    rng = np.random.default_rng(3)
    pnl = rng.normal(10.0, 100.0, 5000)
    estimate = parametric(pnl, 0.99)
    mu, sigma = pnl.mean(), pnl.std(ddof=1)
    assert estimate.var == pytest.approx(-(mu + norm.ppf(0.01) * sigma))
    assert estimate.cvar == pytest.approx(-mu + sigma * norm.pdf(norm.ppf(0.01)) / 0.01)
    assert estimate.var == pytest.approx(222.6, rel=0.05)  # 2.326 sigma - mu
    assert historical(pnl, 0.99).var == pytest.approx(estimate.var, rel=0.1)


def test_garch_when_volatility_just_rose_then_var_above_the_calm_estimate() -> None:
    rng = np.random.default_rng(7)
    calm = rng.normal(0, 0.005, 900)
    storm = rng.normal(0, 0.03, 60)
    pnl = 100_000 * np.concatenate([calm, storm])
    reacting = garch(pnl, 0.99, scale=100_000)
    assert reacting.var > parametric(pnl, 0.99).var  # recent turbulence weighs more
    assert reacting.cvar > reacting.var > 0


def test_portfolio_pnl_when_long_and_short_then_signed_sum() -> None:
    returns = np.array([[0.01, 0.02], [-0.01, 0.00]])
    assert portfolio_pnl(np.array([1000.0, -500.0]), returns) == pytest.approx([0.0, -10.0])
    with pytest.raises(ValueError, match="do not match"):
        portfolio_pnl(np.array([1.0]), returns)


def test_estimates_when_too_little_history_then_refused() -> None:
    with pytest.raises(ValueError, match="at least 30"):
        historical(np.zeros(10), 0.99)
