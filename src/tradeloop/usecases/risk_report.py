"""VaR / CVaR of a paper account's current positions, from stored bars."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.execution.portfolio import Portfolio
from tradeloop.risk.var import RiskEstimate, garch, historical, parametric, portfolio_pnl
from tradeloop.usecases.paper_trading import PaperAccount, PaperStores

BarLoader = Callable[[list[str], int, int, int], pl.DataFrame]


@dataclass(frozen=True, slots=True)
class AccountRisk:
    equity: float
    positions: dict[str, float]  # signed value at the last close
    periods: int
    estimates: list[RiskEstimate]


def account_risk(
    stores: PaperStores,
    account: PaperAccount,
    load: BarLoader,
    *,
    level: float,
    lookback: int,
    interval_sec: int,
    now_ns: int,
    with_garch: bool = True,
) -> AccountRisk:
    """Revalue the account's positions over the last ``lookback`` periods of history."""
    if not account.meta_path.exists():
        raise ConfigError(f"no paper account {account.name!r} ({account.meta_path} is missing)")
    cash = Decimal(json.loads(account.meta_path.read_text())["initial_cash"])
    portfolio = Portfolio.replayed(cash, stores.order_journal(account.run_id, "paper").fills())
    held = {s: p.quantity for s, p in sorted(portfolio.positions.items()) if p.quantity}
    if not held:
        return AccountRisk(float(portfolio.cash), {}, 0, [])
    bars = load(list(held), interval_sec, 0, now_ns)
    closes = (
        bars.select("ts", "symbol", "close")
        .pivot(on="symbol", index="ts", values="close")
        .sort("ts")
        .drop_nulls()
        .tail(lookback + 1)
    )
    missing = [s for s in held if s not in closes.columns]
    if missing or closes.height < 31:
        raise DataError(
            f"need at least 31 common bars of {', '.join(held)} to estimate risk, have "
            f"{closes.height}{' (none for ' + ', '.join(missing) + ')' if missing else ''}; "
            "ingest their history first"
        )
    prices = closes.select(list(held)).to_numpy()
    returns = prices[1:] / prices[:-1] - 1.0
    values = np.array([float(q) * prices[-1, i] for i, q in enumerate(held.values())])
    equity = float(portfolio.cash) + float(values.sum())
    pnl = portfolio_pnl(values, returns)
    estimates = [historical(pnl, level), parametric(pnl, level)]
    if not with_garch:
        return AccountRisk(
            equity, dict(zip(held, values.tolist(), strict=True)), returns.shape[0], estimates
        )
    try:
        estimates.append(garch(pnl, level, scale=max(equity, 1.0)))
    except (ValueError, np.linalg.LinAlgError) as exc:  # a fit that fails is reported
        estimates.append(RiskEstimate(f"garch(1,1) failed: {exc}", float("nan"), float("nan")))
    return AccountRisk(
        equity, dict(zip(held, values.tolist(), strict=True)), returns.shape[0], estimates
    )
