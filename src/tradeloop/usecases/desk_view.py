"""The trading desk page's data: every paper and live account (mode, trading state,
equity, the day's PnL), one account's positions, open orders, recent fills and equity /
drawdown by session, risk denials by code, the daily ML report's state and plots, the
model registry's aliases and the supervised services' health."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from tradeloop.core.errors import ConfigError
from tradeloop.usecases.daily_report import latest_state, risk_denials

MODES = ("paper", "live")


class DeskQueries(Protocol):
    def positions(self, run_id: str) -> list[dict[str, Any]]: ...
    def open_orders(self, run_id: str) -> list[dict[str, Any]]: ...
    def fills(self, run_id: str) -> pl.DataFrame: ...
    def daily_closes(self, symbols: list[str], since_ns: int) -> pl.DataFrame: ...


def _read(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def equity_curve(fills: pl.DataFrame, closes: pl.DataFrame, initial: float) -> pl.DataFrame:
    """``ts, equity, drawdown`` at each session close since the first fill: cash after the
    fills up to then, plus each holding at that session's close (the last known close when
    a symbol did not trade that session)."""
    if fills.is_empty() or closes.is_empty():
        return pl.DataFrame(schema={"ts": pl.Int64, "equity": pl.Float64, "drawdown": pl.Float64})
    signed = fills.with_columns(
        (pl.col("quantity") * pl.when(pl.col("side") == "BUY").then(1.0).otherwise(-1.0)).alias("q")
    )
    cash = signed.select(
        "ts_event",
        (-(pl.col("q") * pl.col("price")) - pl.col("commission")).cum_sum().alias("cash"),
    )
    timeline = closes.select("ts").unique().sort("ts")
    frame = timeline.join_asof(cash.rename({"ts_event": "ts"}), on="ts", strategy="backward")
    value = pl.lit(0.0)
    for symbol in signed["symbol"].unique().sort().to_list():
        held = signed.filter(pl.col("symbol") == symbol).select(
            pl.col("ts_event").alias("ts"), pl.col("q").cum_sum().alias(f"q_{symbol}")
        )
        marks = (
            closes.filter(pl.col("symbol") == symbol)
            .select("ts", pl.col("close").alias(f"c_{symbol}"))
            .sort("ts")
        )
        frame = frame.join_asof(held, on="ts", strategy="backward").join_asof(
            marks, on="ts", strategy="backward"
        )
        value = value + pl.col(f"q_{symbol}").fill_null(0.0) * pl.col(f"c_{symbol}").fill_null(0.0)
    out = frame.with_columns((initial + pl.col("cash").fill_null(0.0) + value).alias("equity"))
    out = out.filter(pl.col("ts") >= fills["ts_event"].min())
    # an account whose equity never rose above 0 has no drawdown to speak of: null, not NaN
    drawdown = (pl.col("equity") / pl.col("equity").cum_max() - 1).fill_nan(None)
    return out.select("ts", "equity", drawdown.alias("drawdown"))


@dataclass(frozen=True)
class DeskView:
    home: Path
    queries: DeskQueries
    aliases: Callable[[], dict[str, dict[str, str]]]  # model name -> alias -> version
    exposure: Callable[[], dict[str, Any]] = dict  # account modes, the scalper's rollout

    def _accounts(self) -> list[tuple[str, str, Path]]:
        return [(mode, folder.name, folder) for mode in MODES
                for folder in sorted((self.home / mode).glob("*")) if folder.is_dir()]  # fmt: skip

    def _summary(self, mode: str, name: str, folder: Path) -> dict[str, Any]:
        risk = _read(folder / "risk_state.json")
        initial = float(_read(folder / "account.json").get("initial_cash", 0) or 0)
        run_id = f"{mode}-{name}"
        fills = self.queries.fills(run_id)
        symbols = sorted(set(fills["symbol"].to_list())) if not fills.is_empty() else []
        since = int(fills["ts_event"].to_numpy().min()) if not fills.is_empty() else 0
        curve = equity_curve(fills, self.queries.daily_closes(symbols, since), initial)
        equity = float(curve["equity"][-1]) if not curve.is_empty() else initial
        start = risk.get("day_start_equity")
        return {
            "account": f"{mode}/{name}", "mode": mode, "name": name, "run_id": run_id,
            "trading_state": risk.get("trading_state", "UNKNOWN"),
            "reason": risk.get("state_reason", ""),
            "initial_cash": initial, "equity": equity,
            "daily_pnl": equity - float(start) if start is not None else None,
            "fills": fills.height, "curve": curve, "fill_rows": fills,
        }  # fmt: skip

    def summary(self) -> dict[str, Any]:
        accounts = [self._summary(m, n, f) for m, n, f in self._accounts()]
        report = latest_state(self.home / "reports")
        stack = _read(self.home / "run" / "stack.json")
        daily = sorted(p.name for p in (self.home / "reports").glob("ml_daily_*_*.png"))
        latest = daily[-1][: len("ml_daily_2024-01-01")] if daily else ""
        plots = [name for name in daily if name.startswith(latest)] if latest else []
        return {
            "accounts": [
                {k: v for k, v in a.items() if k not in ("curve", "fill_rows")} for a in accounts
            ],
            "kill_switch": (self.home / "KILL_SWITCH").exists(),
            "report": {
                "state": report[0] if report else None,
                "detail": report[1] if report else None,
                "plots": plots,
            },
            "risk_denials": risk_denials(self.home / "metrics" / "risk.prom"),
            "models": self.aliases(),
            "services": stack.get("components", {}),
            "exposure": self.exposure(),
        }

    def account(self, mode: str, name: str) -> dict[str, Any]:
        folder = self.home / mode / name
        if mode not in MODES or not folder.is_dir() or name.startswith("."):
            raise ConfigError(f"no {mode} account {name!r}")
        summary = self._summary(mode, name, folder)
        curve: pl.DataFrame = summary.pop("curve")
        fills: pl.DataFrame = summary.pop("fill_rows")
        return {
            **summary,
            "positions": self.queries.positions(summary["run_id"]),
            "open_orders": self.queries.open_orders(summary["run_id"]),
            "recent_fills": fills.tail(50).reverse().to_dicts(),
            "equity_curve": {
                "ts": curve["ts"].to_list(),
                "equity": curve["equity"].to_list(),
                "drawdown": curve["drawdown"].to_list(),
            },
        }

    def plot(self, name: str) -> bytes:
        path = self.home / "reports" / name
        if "/" in name or not name.endswith(".png") or not path.is_file():
            raise ConfigError(f"no report plot {name!r}")
        return path.read_bytes()
