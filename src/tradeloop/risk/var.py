"""Value at risk and expected shortfall of a portfolio, three ways.

The portfolio's one-period PnL is revalued over history: ``pnl_t = sum_s value_s * r_{t,s}``
with today's signed position values and each symbol's past simple returns. From it:

- historical: VaR is the loss at the ``level`` quantile of those PnLs, CVaR the mean loss
  beyond it;
- parametric (normal): ``VaR = -(mu + z * sigma)``, ``CVaR = -mu + sigma * phi(z) / (1 -
  level)`` with ``z = Phi^-1(1 - level)``;
- GARCH(1,1) (arch, normal errors, constant mean): the same normal formulas with the
  model's one-step-ahead volatility, which reacts to recent turbulence.

Losses are positive numbers in the PnL's currency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True, slots=True)
class RiskEstimate:
    method: str
    var: float
    cvar: float


def portfolio_pnl(values: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """PnL per past period of today's positions: ``returns`` is periods x symbols."""
    if returns.ndim != 2 or returns.shape[1] != values.size:
        raise ValueError(f"returns {returns.shape} do not match {values.size} positions")
    return np.asarray(returns @ values, dtype=np.float64)


def historical(pnl: np.ndarray, level: float) -> RiskEstimate:
    _check(pnl, level)
    cut = np.quantile(pnl, 1.0 - level)
    tail = pnl[pnl <= cut]
    return RiskEstimate("historical", float(-cut), float(-tail.mean()))


def parametric(pnl: np.ndarray, level: float) -> RiskEstimate:
    _check(pnl, level)
    return _normal("parametric", float(pnl.mean()), float(pnl.std(ddof=1)), level)


def garch(pnl: np.ndarray, level: float, scale: float) -> RiskEstimate:
    """GARCH(1,1) on ``pnl / scale`` (a return series; ``scale`` is the equity)."""
    _check(pnl, level)
    from arch import arch_model  # imported here: 3 s of statsmodels and scipy

    percent = 100.0 * pnl / scale  # the optimiser converges on percent returns
    # rescale=False: the returns are in percent already; arch would only warn (on the
    # console of a normal command) without changing the fit.
    model = arch_model(
        percent, mean="Constant", vol="GARCH", p=1, q=1, dist="normal", rescale=False
    )
    fitted = model.fit(disp="off")
    variance = float(np.asarray(fitted.forecast(horizon=1, reindex=False).variance)[-1, 0])
    mu = float(fitted.params["mu"]) / 100.0 * scale
    sigma = math.sqrt(variance) / 100.0 * scale
    return _normal("garch(1,1)", mu, sigma, level)


def _normal(method: str, mu: float, sigma: float, level: float) -> RiskEstimate:
    z = float(norm.ppf(1.0 - level))
    var = -(mu + z * sigma)
    cvar = -mu + sigma * float(norm.pdf(z)) / (1.0 - level)
    return RiskEstimate(method, var, cvar)


def _check(pnl: np.ndarray, level: float) -> None:
    if not 0.5 < level < 1:
        raise ValueError(f"level must be in (0.5, 1), got {level}")
    if pnl.size < 30 or not np.all(np.isfinite(pnl)):
        raise ValueError(f"need at least 30 finite PnL values, got {pnl.size}")
