"""Multi-horizon return forecasts: ARIMA on log returns, with an EWMA fallback.

ARIMA is the better forecaster when it converges; on short, flat or unruly series the
likelihood optimizer often does not, and an unconverged fit forecasts nonsense with
confidence. So every fit is checked (the optimizer's own ``converged`` flag, its
ConvergenceWarning, finite output) and, when it fails, the forecast falls back to the
exponentially weighted mean return, and says so: ``method`` and ``reason`` travel with the
numbers, and the daemon counts fallbacks (``arima_fb``) the way the institutional stack
does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from tradeloop.models.config import ForecastConfig


@dataclass(frozen=True, slots=True)
class Forecast:
    """Expected cumulative log return ``horizons[i]`` bars ahead, and how it was made."""

    horizons: tuple[int, ...]
    log_returns: tuple[float, ...]
    method: str  # "arima" or "ewma"
    reason: str = ""  # why ARIMA was not used (empty when it was)
    observations: int = 0

    @property
    def fell_back(self) -> bool:
        return self.method != "arima"

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "reason": self.reason,
            "observations": self.observations,
            "horizons": list(self.horizons),
            "log_returns": [round(r, 8) for r in self.log_returns],
        }


def forecast_returns(closes: np.ndarray, config: ForecastConfig | None = None) -> Forecast:
    """Forecast from a series of closes (oldest first); never raises on bad data."""
    config = config or ForecastConfig()
    prices = np.asarray(closes, dtype=np.float64)
    prices = prices[np.isfinite(prices) & (prices > 0)]
    returns = np.diff(np.log(prices))[-config.window :]
    if returns.size < config.min_observations:
        reason = f"{returns.size} returns < min_observations {config.min_observations}"
        return _ewma(returns, config, reason)
    if float(np.std(returns)) == 0.0:
        return _ewma(returns, config, "returns have no variance")
    try:
        path, problem = _arima_path(returns, config)
    except Exception as exc:  # statsmodels raises LinAlgError, ValueError, ...
        return _ewma(returns, config, f"ARIMA failed: {type(exc).__name__}: {exc}"[:200])
    if problem:
        return _ewma(returns, config, problem)
    cumulative = np.cumsum(path)
    return Forecast(
        horizons=config.horizons,
        log_returns=tuple(float(cumulative[h - 1]) for h in config.horizons),
        method="arima",
        observations=int(returns.size),
    )


def _arima_path(returns: np.ndarray, config: ForecastConfig) -> tuple[np.ndarray, str]:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.arima.model import ARIMA

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = ARIMA(returns, order=config.order).fit(
            method_kwargs={"maxiter": config.max_iterations}
        )
        path = np.asarray(fitted.forecast(steps=max(config.horizons)), dtype=np.float64)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        return path, "ARIMA did not converge (ConvergenceWarning)"
    if fitted.mle_retvals is not None and fitted.mle_retvals.get("converged") is False:
        return path, "ARIMA did not converge"
    if not np.all(np.isfinite(path)):
        return path, "ARIMA forecast is not finite"
    return path, ""


def _ewma(returns: np.ndarray, config: ForecastConfig, reason: str) -> Forecast:
    """The exponentially weighted mean return, compounded over each horizon (0 when
    there is no return at all: no view is the honest forecast)."""
    mean = 0.0
    if returns.size:
        alpha = 2.0 / (config.ewma_span + 1.0)
        weights = (1.0 - alpha) ** np.arange(returns.size - 1, -1, -1)
        mean = float(np.sum(weights * returns) / np.sum(weights))
    return Forecast(
        horizons=config.horizons,
        log_returns=tuple(mean * h for h in config.horizons),
        method="ewma",
        reason=reason,
        observations=int(returns.size),
    )
