"""The daemon's tick loop: errors counted and logged, safe mode on and off again."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.strategy import Strategy
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.paper_stores import SqlPaperStores
from tradeloop.testing.orders import UNLIMITED_RISK
from tradeloop.testing.stubs import stub_bars
from tradeloop.usecases.daemon import (
    DaemonAccount,
    DaemonConfig,
    DaemonTasks,
    DaemonWorld,
    ScaledStrategy,
    TradingDaemon,
)
from tradeloop.usecases.paper_run import FeedSpec
from tradeloop.usecases.paper_trading import AccountRules, PaperAccount, PaperStart, open_account
from tradeloop.usecases.strategy_plans import sma_cross_plan


class _Fixed:
    """The wall clock the daemon reads, pinned."""

    def now_ns(self) -> int:
        return 2_000_000_000_000_000_000


def _world(logs: Path, should_stop: Callable[[], bool], echo: Callable[[str], None]) -> DaemonWorld:
    return DaemonWorld(logs, should_stop, echo, clock=_Fixed(), sleep=lambda s: None)


def _open(account: PaperAccount, db: Engine, strategy: Strategy, tmp_path: Path) -> PaperStart:
    return open_account(
        account,
        stores=SqlPaperStores(db),
        strategy=strategy,
        rules=AccountRules(ExecutionConfig(), UNLIMITED_RISK, KillSwitch(tmp_path / "KS")),
        now_ns=0,
        actor="t",
    )


def _db(tmp_path: Path) -> Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine)
    return engine


def test_daemon_when_ticks_keep_failing_then_safe_mode_scales_new_risk_until_clean(
    tmp_path: Path,
) -> None:
    db = _db(tmp_path)
    bars = stub_bars("TEST", 120, seed=4)
    plan = sma_cross_plan({"fast": 2, "slow": 5}, 1)
    failures = {"left": 7}

    def prepare(frame: pl.DataFrame) -> pl.DataFrame:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("model server unreachable")
        return plan.prepare(frame)

    flaky = dataclasses.replace(plan, prepare=prepare)
    scaled = ScaledStrategy(plan.strategy)
    account = PaperAccount.under(tmp_path / "paper", "d")
    opened = _open(account, db, scaled, tmp_path)
    visible = {"rows": 60}  # bars arrive over time: 60 at first, all after the failures
    ticks = {"n": 0}

    def load(symbols: tuple[str, ...], seconds: int, start: int, end: int) -> pl.DataFrame:
        return bars.head(visible["rows"])

    def stop() -> bool:
        ticks["n"] += 1
        if ticks["n"] == 6:
            visible["rows"] = 120
        return ticks["n"] > 40

    echoed: list[str] = []
    stats = TradingDaemon(
        DaemonAccount(
            opened,
            account,
            flaky,
            scaled,
            FeedSpec(symbols=("TEST",), interval_sec=86_400, start_ns=0, end_ns=None, feed="live"),
            load,
            SqlPaperStores(db),
        ),
        DaemonConfig(tick_interval=0.0, heartbeat_seconds=0.0),
        DaemonTasks(),
        _world(tmp_path / "logs", stop, echoed.append),
    ).run()
    assert stats.loop_errors == 7
    assert stats.model_errors == 7
    assert any("SAFE MODE on" in line for line in echoed)
    assert any("SAFE MODE off" in line for line in echoed)
    assert not stats.safe_mode
    errors = (tmp_path / "logs" / "errors.jsonl").read_text().splitlines()
    assert len(errors) == 7
    assert "RuntimeError: model server unreachable" in json.loads(errors[0])["traceback"]
    assert stats.orders_sent > 0
    # The console says why, once per new reason (not only errors=N on every heartbeat).
    reasons = [line for line in echoed if line.startswith("TICK ERROR")]
    assert reasons == [
        f"TICK ERROR: RuntimeError: model server unreachable (details in "
        f"{tmp_path / 'logs' / 'errors.jsonl'})"
    ]
    assert any("last_error=RuntimeError: model server unreachable" in x for x in echoed)


def test_daemon_when_a_ticker_has_no_data_then_it_says_so_every_heartbeat(
    tmp_path: Path,
) -> None:
    db = _db(tmp_path)
    bars = stub_bars("TEST", 60, seed=4)
    plan = sma_cross_plan({"fast": 2, "slow": 5}, 1)
    account = PaperAccount.under(tmp_path / "paper", "d")
    opened = _open(account, db, plan.strategy, tmp_path)
    ticks = {"n": 0}

    def stop() -> bool:
        ticks["n"] += 1
        return ticks["n"] > 3

    echoed: list[str] = []
    stats = TradingDaemon(
        DaemonAccount(
            opened,
            account,
            plan,
            ScaledStrategy(plan.strategy),
            FeedSpec(
                symbols=("NOPE", "TEST"), interval_sec=86_400, start_ns=0, end_ns=None, feed="live"
            ),
            lambda *_: bars,
            SqlPaperStores(db),
        ),
        DaemonConfig(tick_interval=0.0, heartbeat_seconds=0.0),
        DaemonTasks(),
        _world(tmp_path / "logs", stop, echoed.append),
    ).run()
    assert stats.no_data == ("NOPE",)
    warnings = [line for line in echoed if line.startswith("NO DATA")]
    assert warnings == [
        "NO DATA for NOPE: no stored 86400 s bars in range. Fix: ingest or collect them, or "
        "check the --tickers spelling"
    ]
    beats = [line for line in echoed if line.startswith("HEARTBEAT")]
    assert beats
    assert all("NO_DATA=NOPE" in line for line in beats)


def test_scaled_strategy_when_safe_mode_then_entries_scaled_exits_untouched() -> None:
    from tradeloop.domain.enums import Side
    from tradeloop.domain.orders import SubmitOrder
    from tradeloop.execution.bar_view import BarView
    from tradeloop.execution.strategy import StrategyContext

    class Fixed:
        def __init__(self, orders: list[SubmitOrder]) -> None:
            self.orders = orders

        def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
            return self.orders

    entry = SubmitOrder("e", "X", Side.BUY, Decimal(95), ts_init=1)
    exit_ = SubmitOrder("x", "X", Side.SELL, Decimal(40), ts_init=1)
    bar = BarView("X", 1, 1.0, 1.0, 1.0, 1.0, 1.0)
    flat = StrategyContext(Decimal(0), Decimal(100), Decimal(100), "r")
    held = StrategyContext(Decimal(40), Decimal(100), Decimal(100), "r")
    strategy = ScaledStrategy(Fixed([entry]))
    strategy.scale = Decimal("0.1")
    assert [o.quantity for o in strategy.on_bar(bar, flat)] == [Decimal(9)]
    closing = ScaledStrategy(Fixed([exit_]))
    closing.scale = Decimal("0.1")
    assert closing.on_bar(bar, held) == [exit_]


def test_backpressure_when_backlog_exceeds_queue_then_no_new_risk_from_it(
    tmp_path: Path,
) -> None:
    db = _db(tmp_path)
    bars = stub_bars("TEST", 200, seed=4)
    plan = sma_cross_plan({"fast": 2, "slow": 5}, 1)
    scaled = ScaledStrategy(plan.strategy)
    account = PaperAccount.under(tmp_path / "paper", "b")
    opened = _open(account, db, scaled, tmp_path)
    loads = {"n": 0}

    def load(*args: object) -> pl.DataFrame:
        loads["n"] += 1  # once per tick
        return bars.head(20 if loads["n"] < 3 else 200)  # then 180 at once: a backlog

    echoed: list[str] = []
    stats = TradingDaemon(
        DaemonAccount(
            opened,
            account,
            plan,
            scaled,
            FeedSpec(symbols=("TEST",), interval_sec=86_400, start_ns=0, end_ns=None, feed="live"),
            load,
            SqlPaperStores(db),
        ),
        DaemonConfig(tick_interval=0.0, heartbeat_seconds=0.0, max_queue_len=50),
        DaemonTasks(),
        _world(tmp_path / "logs", lambda: loads["n"] >= 5, echoed.append),
    ).run()
    assert stats.backpressure == {"halt": 1}
    assert stats.dropped > 0
    assert stats.orders_sent == 0  # flat before: the backlog could only have opened risk
    assert any("BACKPRESSURE halt: 180 bars waiting" in line for line in echoed)


def test_var_limit_when_breached_then_reducing_and_lifted_only_by_itself(tmp_path: Path) -> None:
    from tradeloop.domain.enums import TradingState
    from tradeloop.risk.gate import RiskGate
    from tradeloop.usecases.daemon import JsonLines, _apply_var_limit

    gate = RiskGate(UNLIMITED_RISK, KillSwitch(tmp_path / "KS"))
    errors = JsonLines(tmp_path / "errors.jsonl")
    said: list[str] = []
    _apply_var_limit(gate, lambda: "VaR 3.1 % > 2 %", errors, said.append)
    assert gate.state.trading_state is TradingState.REDUCING
    _apply_var_limit(gate, lambda: None, errors, said.append)
    assert gate.state.trading_state is TradingState.ACTIVE

    gate.set_trading_state(TradingState.REDUCING, "close-all by ops")
    _apply_var_limit(gate, lambda: None, errors, said.append)
    assert gate.state.trading_state is TradingState.REDUCING  # not the VaR limit's to lift

    def broken() -> str | None:
        raise ValueError("need at least 31 common bars")

    gate.set_trading_state(TradingState.ACTIVE, "")
    _apply_var_limit(gate, broken, errors, said.append)
    assert gate.state.trading_state is TradingState.ACTIVE
    assert "need at least 31" in (tmp_path / "errors.jsonl").read_text()


def test_model_age_when_past_the_limit_then_reducing_with_the_reason(tmp_path: Path) -> None:
    from tradeloop.domain.enums import TradingState
    from tradeloop.risk.gate import RiskGate
    from tradeloop.usecases.daemon import _apply_model_age

    gate = RiskGate(UNLIMITED_RISK, KillSwitch(tmp_path / "KS"))
    said: list[str] = []
    _apply_model_age(gate, 47.0, 48.0, said.append)
    assert gate.state.trading_state is TradingState.ACTIVE
    _apply_model_age(gate, 49.0, 48.0, said.append)
    assert gate.state.trading_state is TradingState.REDUCING
    assert "model stale" in gate.state.state_reason
    assert said == [f"REDUCING: {gate.state.state_reason}"]


def test_daemon_forecasts_when_arima_fails_then_ewma_counted_in_heartbeat(
    tmp_path: Path,
) -> None:
    from tradeloop.models.config import ForecastConfig
    from tradeloop.models.forecaster import forecast_returns

    db = _db(tmp_path)
    bars = stub_bars("TEST", 150, seed=4)
    plan = sma_cross_plan({"fast": 2, "slow": 5}, 1)
    scaled = ScaledStrategy(plan.strategy)
    account = PaperAccount.under(tmp_path / "paper", "f")
    opened = _open(account, db, scaled, tmp_path)
    closes = bars["close"].to_numpy()
    calls = {"n": 0}

    def forecast() -> dict[str, object]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("statsmodels blew up")
        return {
            "GOOD": forecast_returns(closes, ForecastConfig()),
            "STUCK": forecast_returns(closes, ForecastConfig(max_iterations=1)),
            "SHORT": forecast_returns(closes[:20], ForecastConfig()),
        }

    ticks = {"n": 0}

    def stop() -> bool:
        ticks["n"] += 1
        return ticks["n"] > 3

    echoed: list[str] = []
    stats = TradingDaemon(
        DaemonAccount(
            opened,
            account,
            plan,
            scaled,
            FeedSpec(symbols=("TEST",), interval_sec=86_400, start_ns=0, end_ns=None, feed="live"),
            lambda *a: bars,
            SqlPaperStores(db),
        ),
        # refresh cadence 0: a forecast round on every tick
        DaemonConfig(tick_interval=0.0, heartbeat_seconds=0.0, data_refresh_minutes=0.0),
        DaemonTasks(forecast=forecast),  # type: ignore[arg-type]
        _world(tmp_path / "logs", stop, echoed.append),
    ).run()
    assert calls["n"] == 3
    assert stats.forecasts == 6
    assert stats.arima_fb == 4  # STUCK and SHORT, twice; GOOD converged
    assert stats.model_errors == 1  # the round that raised: counted, the daemon went on
    beats = [line for line in echoed if line.startswith("HEARTBEAT")]
    assert "arima_fb=4" in beats[-1]
    events = [json.loads(x) for x in (tmp_path / "logs" / "live.jsonl").read_text().splitlines()]
    made = [e for e in events if e["event"] == "forecast"]
    assert {(e["symbol"], e["method"]) for e in made} == {
        ("GOOD", "arima"),
        ("STUCK", "ewma"),
        ("SHORT", "ewma"),
    }
    assert all(len(e["log_returns"]) == 3 for e in made)
    assert "statsmodels blew up" in (tmp_path / "logs" / "errors.jsonl").read_text()


def test_daily_report_kill_switch_when_daemon_trades_ml_then_reducing_until_lifted(
    tmp_path: Path,
) -> None:
    from tradeloop.domain.enums import TradingState
    from tradeloop.risk.gate import RiskGate
    from tradeloop.usecases.daemon import _apply_report_state

    gate = RiskGate(UNLIMITED_RISK, KillSwitch(tmp_path / "KS"))
    said: list[str] = []
    _apply_report_state(gate, ("degrading", "report 2026-11-20: low sample"), said.append)
    assert gate.state.trading_state is TradingState.ACTIVE
    _apply_report_state(gate, ("kill-switch", "report 2026-11-20: precision down"), said.append)
    assert gate.state.trading_state is TradingState.REDUCING
    assert "precision down" in gate.state.state_reason
    _apply_report_state(gate, ("healthy", "report 2026-11-21: fine"), said.append)
    assert gate.state.trading_state is TradingState.ACTIVE
    gate.set_trading_state(TradingState.REDUCING, "close-all by ops")
    _apply_report_state(gate, None, said.append)
    assert gate.state.trading_state is TradingState.REDUCING  # not the report's to lift


def test_ml_plan_when_latest_report_is_kill_switch_then_refused_to_start(tmp_path: Path) -> None:
    from types import SimpleNamespace

    import pytest

    from tradeloop.bootstrap.trading import require_fresh_model
    from tradeloop.core.errors import TradingRefused

    reports = tmp_path / "reports"
    reports.mkdir()
    app = SimpleNamespace(
        settings=SimpleNamespace(reports_dir=reports),
        config=SimpleNamespace(scorer=SimpleNamespace(stale_max_hours=168.0)),
    )
    plan = SimpleNamespace(
        model=SimpleNamespace(age_seconds=lambda now: 3600.0, model_version_id="v1")
    )
    require_fresh_model(app, plan)  # type: ignore[arg-type]  # no report yet: allowed
    latest = reports / "ml_daily_latest.json"
    latest.write_text(
        json.dumps(
            {
                "day": "2026-11-20",
                "state": "kill-switch",
                "reasons": ["precision down on every horizon"],
            }
        )
    )
    with pytest.raises(TradingRefused, match="kill-switch"):
        require_fresh_model(app, plan)  # type: ignore[arg-type]
    latest.write_text(json.dumps({"day": "2026-11-21", "state": "degrading", "reasons": ["x"]}))
    require_fresh_model(app, plan)  # type: ignore[arg-type]
    no_ml = SimpleNamespace(model=None)
    latest.write_text(json.dumps({"day": "2026-11-22", "state": "kill-switch", "reasons": ["x"]}))
    require_fresh_model(app, no_ml)  # type: ignore[arg-type]  # other strategies unaffected


def test_live_mode_guard_when_demoted_then_reducing_and_new_ramp_limits_apply(
    tmp_path: Path,
) -> None:
    from tradeloop.domain.enums import TradingState
    from tradeloop.risk.config import RiskConfig
    from tradeloop.risk.gate import RiskGate
    from tradeloop.risk.kill_switch import KillSwitch
    from tradeloop.usecases.daemon import _apply_live_mode

    gate, said = RiskGate(RiskConfig(), KillSwitch(tmp_path / "KS")), []
    week2 = RiskConfig(max_position_size=0.15, max_deployed_usd=5_000)
    _apply_live_mode(gate, (week2, week2), said.append)
    assert gate.config.max_deployed_usd == 5_000
    _apply_live_mode(gate, "account main is in paper mode", said.append)
    assert gate.state.trading_state is TradingState.REDUCING
    _apply_live_mode(gate, (week2, week2), said.append)
    assert gate.state.trading_state is TradingState.ACTIVE
    assert said[1].startswith("REDUCING: account no longer in live mode")
