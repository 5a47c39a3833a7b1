"""The agent's market state: 58 values per symbol and session, built by the same code in
training (every session at once) and in live decisions (one row).

Five groups, as in the PIM agent: the prediction curve's shape (12), the session's bar (4),
context (5: calendar, time and the position), optional ray features (13, zeros when
absent) and derived values (24). ``STATE_FIELDS`` documents every index with its unit and
source; docs/market_state.md is generated from it (a test keeps the two equal).

No value looks ahead: curve, features and bar are those of the session itself (decided at
its close), and the position is the one held going into the decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeloop.models.curve_model import CurveBatch, summarize_batch

STATE_SIZE = 58
STATE_COLUMNS = tuple(f"state_{i:02d}" for i in range(STATE_SIZE))  # as frame columns
STATE_BOUND = 1_000.0  # every value is clipped to +-this (the observation space's box)
RAY_SIZE = 13


@dataclass(frozen=True, slots=True)
class StateField:
    index: int
    name: str
    unit: str
    source: str


_FIELDS: tuple[tuple[str, str, str], ...] = (
    # the curve (12)
    ("pred_peak_value", "log return", "max of the 100 predictions"),
    ("pred_peak_horizon", "sessions / 100", "horizon of the maximum"),
    ("pred_valley_value", "log return", "min of the 100 predictions"),
    ("pred_valley_horizon", "sessions / 100", "horizon of the minimum"),
    ("pred_trend_slope", "log return / session", "least-squares slope of horizons 1..20"),
    ("pred_curve_convexity", "log return", "quadratic coefficient of a fit on x = h/100"),
    ("pred_optimal_exit", "log return", "90 % of the peak (the PIM exit rule)"),
    (
        "pred_optimal_exit_horizon",
        "sessions / 100",
        "first horizon reaching 90 % of a positive peak, else 0",
    ),
    ("optimal_return", "log return", "curve summary: return at the optimal horizon"),
    ("optimal_horizon", "sessions / 100", "curve summary: largest |return| / uncertainty"),
    ("risk_score", "0..1", "curve summary: uncertainty / (uncertainty + |return|)"),
    ("direction", "-1, 0, +1", "curve summary: SHORT, HOLD, LONG"),
    # the session's bar (4)
    ("ret_1", "log return", "log(close / previous close)"),
    ("range_pct", "fraction", "(high - low) / close"),
    ("volume_z_20", "z-score", "log volume against its 20-session mean"),
    ("gap", "fraction", "open / previous close - 1"),
    # context (5)
    ("day_of_week", "0..1", "Monday 0 to Friday 1 (weekday / 4)"),
    ("time_of_day", "0..1", "share of the regular session elapsed (1 at the daily close)"),
    ("position", "fraction of equity", "signed position held going into the decision"),
    ("unrealized_pnl", "fraction", "open position's return since entry (0 when flat)"),
    ("holding_sessions", "sessions / 100", "sessions since the position was opened"),
    # ray features (13), optional
    ("ray_present", "0 or 1", "1 when a ray feature row exists for the session"),
    *(
        (f"ray_{i:02d}", "as given", f"optional ray feature {i} (0 when absent)")
        for i in range(1, 13)
    ),
    # derived (24)
    *((f"pred_h{h}", "log return", f"prediction at {h} sessions") for h in (1, 5, 10, 20, 50, 100)),
    *((f"unc_h{h}", "log return", f"uncertainty at {h} sessions") for h in (1, 20, 100)),
    ("unc_mean", "log return", "mean uncertainty over the 100 horizons"),
    *((f"tstat_h{h}", "ratio", f"prediction / uncertainty at {h} sessions") for h in (5, 20, 100)),
    ("curve_rising_share", "0..1", "share of the 99 steps where the curve rises"),
    ("peak_minus_valley", "log return", "pred_peak_value - pred_valley_value"),
    ("peak_before_valley", "0 or 1", "1 when the peak comes before the valley"),
    ("rsi_14", "0..1", "Wilder RSI(14) / 100"),
    ("vol_20", "log return", "std of daily log returns over 20 sessions"),
    ("ret_5", "log return", "log(close / close 5 sessions before)"),
    ("ret_20", "log return", "log(close / close 20 sessions before)"),
    ("close_sma_200", "fraction", "close / 200-session mean - 1"),
    ("mkt_ret_20", "log return", "the market series' 20-session return"),
    ("beta_60", "ratio", "60-session beta to the market"),
    ("cash_fraction", "0..1", "1 - |position|"),
)
STATE_FIELDS = tuple(StateField(i, n, u, s) for i, (n, u, s) in enumerate(_FIELDS))
INDEX = {f.name: f.index for f in STATE_FIELDS}
# what changes with the position, set at every step (the rest is fixed per session)
POSITION_FIELDS = ("position", "unrealized_pnl", "holding_sessions", "cash_fraction")
# curve features a state reads (columns of CURVE_SCHEMA)
FEATURE_COLUMNS = ("ret_1", "volume_z_20", "gap", "rsi_14", "vol_20", "ret_5", "ret_20",
                   "close_sma_200", "mkt_ret_20", "beta_60")  # fmt: skip


def _slope(values: np.ndarray) -> np.ndarray:
    h = np.arange(1, values.shape[1] + 1, dtype=np.float64)
    centred = h - h.mean()
    slope: np.ndarray = (values - values.mean(axis=1, keepdims=True)) @ centred
    return slope / float(centred @ centred)


def _curve_shape(curve: CurveBatch, hold_tstat: float, out: np.ndarray) -> None:
    mean, unc = curve.mean, curve.uncertainty
    rows = np.arange(mean.shape[0])
    peak_at, valley_at = mean.argmax(axis=1), mean.argmin(axis=1)
    peak, valley = mean[rows, peak_at], mean[rows, valley_at]
    x = np.arange(1, mean.shape[1] + 1) / 100.0
    quadratic = np.polynomial.polynomial.polyfit(x, mean.T, 2)[2]
    exit_level = 0.9 * peak
    reached = mean >= exit_level[:, None]
    exit_at = np.where(peak > 0, (reached.argmax(axis=1) + 1) / 100.0, 0.0)
    summary = summarize_batch(mean, unc, hold_tstat)
    for name, value in (
        ("pred_peak_value", peak), ("pred_peak_horizon", (peak_at + 1) / 100.0),
        ("pred_valley_value", valley), ("pred_valley_horizon", (valley_at + 1) / 100.0),
        ("pred_trend_slope", _slope(mean[:, :20])), ("pred_curve_convexity", quadratic),
        ("pred_optimal_exit", exit_level), ("pred_optimal_exit_horizon", exit_at),
        ("optimal_return", summary["optimal_return"]),
        ("optimal_horizon", summary["optimal_horizon"] / 100.0),
        ("risk_score", summary["risk_score"]), ("direction", summary["direction"]),
        ("unc_mean", unc.mean(axis=1)),
        ("curve_rising_share", (np.diff(mean, axis=1) > 0).mean(axis=1)),
        ("peak_minus_valley", peak - valley),
        ("peak_before_valley", (peak_at < valley_at).astype(np.float64)),
    ):  # fmt: skip
        out[:, INDEX[name]] = value
    for h in (1, 5, 10, 20, 50, 100):
        out[:, INDEX[f"pred_h{h}"]] = mean[:, h - 1]
    for h in (1, 20, 100):
        out[:, INDEX[f"unc_h{h}"]] = unc[:, h - 1]
    for h in (5, 20, 100):
        out[:, INDEX[f"tstat_h{h}"]] = mean[:, h - 1] / unc[:, h - 1]


def session_states(
    curve: CurveBatch,
    features: dict[str, np.ndarray],
    bars: dict[str, np.ndarray],
    weekday: np.ndarray,
    hold_tstat: float,
    ray: np.ndarray | None = None,
    time_of_day: np.ndarray | None = None,
) -> np.ndarray:
    """States ``[n, 58]`` (float32) of ``n`` sessions, flat (no position): ``features`` the
    FEATURE_COLUMNS of each session, ``bars`` its ``high``, ``low``, ``close``,
    ``weekday`` 0..4, ``ray[n, 12]`` or None, ``time_of_day`` (default 1: at the close)."""
    n = curve.mean.shape[0]
    out = np.zeros((n, STATE_SIZE), dtype=np.float64)
    _curve_shape(curve, hold_tstat, out)
    for name in FEATURE_COLUMNS:
        out[:, INDEX[name]] = features[name]
    out[:, INDEX["rsi_14"]] = features["rsi_14"] / 100.0
    out[:, INDEX["range_pct"]] = (bars["high"] - bars["low"]) / bars["close"]
    out[:, INDEX["day_of_week"]] = weekday / 4.0
    out[:, INDEX["time_of_day"]] = 1.0 if time_of_day is None else time_of_day
    if ray is not None:
        out[:, INDEX["ray_present"]] = 1.0
        out[:, INDEX["ray_01"] : INDEX["ray_12"] + 1] = ray
    out[:, INDEX["cash_fraction"]] = 1.0
    clean = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(clean, -STATE_BOUND, STATE_BOUND).astype(np.float32)


def with_position(
    state: np.ndarray, position: float, unrealized: float, holding: int
) -> np.ndarray:
    """``state`` (one session's, from ``session_states``) with the position filled in; the
    array is changed in place and returned (the environment reuses one buffer)."""
    state[INDEX["position"]] = position
    state[INDEX["unrealized_pnl"]] = unrealized
    state[INDEX["holding_sessions"]] = holding / 100.0
    state[INDEX["cash_fraction"]] = 1.0 - abs(position)
    return state


def state_table() -> str:
    """The Markdown table of every field (docs/market_state.md)."""
    lines = ["| index | name | unit | source |", "|---:|---|---|---|"]
    lines += [f"| {f.index} | `{f.name}` | {f.unit} | {f.source} |" for f in STATE_FIELDS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m tradeloop.models.rl.market_state > the table
    print(state_table(), end="")
