"""Profiles: each origin stack's documented defaults, where they differ from tradeloop's
general ones, applied under the config file's own values (``--profile NAME``,
``TRADELOOP_PROFILE`` or ``profile:`` in the file).

Every value names the line of the origin document it comes from, so that a user arriving
from that stack can check it; docs/migration.md renders this table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

ProfileName = Literal["general", "pivotquant", "institutional", "pim", "scalper", "qmachina"]
PROFILE_NAMES: tuple[str, ...] = ProfileName.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ProfileValue:
    """One default of an origin: the config key (section.key[.key]), its value, and where
    the origin says so (document:line and the words there)."""

    key: str
    value: Any
    source: str
    quote: str


PIM = "pim_workflow_modes.md"
SCALPER = "scalper_readme.md"

PROFILES: Mapping[str, tuple[ProfileValue, ...]] = {
    "general": (),
    # tradeloop's ingest, collector, retrain, gates and report defaults are these two
    # runbooks' own values (yahoo / SPY / 45 s, 1,260 sessions and quality 0.6, yahoo >
    # polygon > alpaca, horizons 5/15/60, retrain every 6 h): nothing differs.
    "pivotquant": (),
    "institutional": (),
    # the risk file of "Go live" (Phase 2.1: the first live day's limits, with the 2 % daily
    # loss halt) and its account file (Phase 4.1: longs only); its paper capital, 100,000
    # (line 218), is tradeloop's default already
    "pim": (
        ProfileValue("risk.max_position_size", 0.10, f"{PIM}:439", "max_position_size: 0.10"),
        ProfileValue("risk.max_portfolio_heat", 0.30, f"{PIM}:440", "max_portfolio_heat: 0.30"),
        ProfileValue("risk.daily_loss_limit", 0.02, f"{PIM}:441", "daily_loss_limit: 0.02"),
        ProfileValue("risk.max_daily_trades", 5, f"{PIM}:442", "max_daily_trades: 5"),
        ProfileValue(
            "risk.min_time_between_trades_s", 300.0, f"{PIM}:443", "min_time_between_trades: 300"
        ),
        ProfileValue("execution.allow_short", False, f"{PIM}:509", "allow_short_trades: false"),
        ProfileValue("ml_signal.allow_short", False, f"{PIM}:509", "allow_short_trades: false"),
    ),
    # "Exchange modes" and "Sizing & Near-Liq Guard"
    "scalper": (
        ProfileValue("venues.default_venue", "bybit_v5", f"{SCALPER}:70", "venue: bybit_v5"),
        ProfileValue("venues.bybit_v5.maker_only", True, f"{SCALPER}:71", "maker_only: true"),
        ProfileValue("venues.bybit_v5.reduce_only", True, f"{SCALPER}:72", "reduce_only: true"),
        ProfileValue("venues.bybit_v5.post_only", True, f"{SCALPER}:73", "post_only: true"),
        ProfileValue(
            "ml_signal.sizing", "scalper", f"{SCALPER}:149", "Order size uses compute_order_qty"
        ),
        ProfileValue("risk.margin_leverage", 10.0, f"{SCALPER}:159", "leverage: 10"),
        ProfileValue(
            "risk.notional_cap_usd", 20_000.0, f"{SCALPER}:160", "notional_cap_usd: 20000"
        ),
        ProfileValue(
            "risk.min_free_balance_usd", 200.0, f"{SCALPER}:162", "min_free_balance_usd: 200"
        ),
        ProfileValue("risk.assumed_stop_bps", 30.0, f"{SCALPER}:173", "assumed_sl_pct: 0.003"),
        # a 10x margin account: a position may be worth up to 10x the equity (the cap on it
        # is notional_cap_usd), where tradeloop's cash-account limits would refuse 20 %
        ProfileValue("risk.max_gross_leverage", 10.0, f"{SCALPER}:159", "leverage: 10"),
        ProfileValue("risk.max_position_size", 10.0, f"{SCALPER}:159", "leverage: 10"),
        ProfileValue("risk.max_portfolio_heat", 10.0, f"{SCALPER}:159", "leverage: 10"),
    ),
    # the MBO engine's instrument settings belong to its instrument file, not to this config
    "qmachina": (),
}

# What a profile deliberately leaves out, and why (shown by config show, in the docs).
NOT_APPLIED: Mapping[str, str] = {
    "pim": (
        "PIM's first-day symbol list (AAPL, MSFT, GOOGL) and hours (10:00-15:30 ET) are not "
        "applied: as standing limits they would deny every other symbol, and every daily bar, "
        "in paper and backtest"
    ),
    "qmachina": "its instrument settings (tick size, cell width, grid) live in the instrument file",
}


def profile_layer(name: str) -> dict[str, Any]:
    """The profile's values as a nested mapping, to lay under a config file's own."""
    return layer_of((value.key, value.value) for value in PROFILES[name])


def layer_of(values: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Dotted keys and their values as the nested mapping a config file would hold."""
    layer: dict[str, Any] = {}
    for key, value in values:
        *path, last = key.split(".")
        node = layer
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return layer


def merged(under: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``under``: mappings merge key by key, any other value replaces."""
    result = dict(under)
    for key, value in over.items():
        below = result.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            result[key] = merged(below, value)
        else:
            result[key] = value
    return result
