"""The trading kernel: the one stepping loop every mode shares, and its clock-driven run."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.kernel import Pacer, PeriodicTask, TradingKernel
from tradeloop.execution.session import StepResult, TradingSession
from tradeloop.execution.strategy import StrategyContext
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.orders import UNLIMITED_RISK

MIN = 60_000_000_000
SRC = Path(__file__).resolve().parents[3] / "src" / "tradeloop"


class _Seen:
    """A strategy that orders nothing and remembers every bar it was shown."""

    def __init__(self) -> None:
        self.shown: list[int] = []

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[object]:
        self.shown.append(bar.ts)
        return []


def _kernel(tmp_path: Path, **options: object) -> tuple[TradingKernel, _Seen]:
    engine = simulated_engine(ExecutionConfig(), UNLIMITED_RISK, KillSwitch(tmp_path / "KS"))
    strategy = _Seen()
    session = TradingSession(engine, strategy, "run")  # type: ignore[arg-type]
    return TradingKernel(session, **options), strategy  # type: ignore[arg-type]


def _bars(*minutes: int) -> list[BarView]:
    return [BarView("SPY", m * MIN, 100.0, 101.0, 99.0, 100.5, 1_000.0) for m in minutes]


def test_kernel_when_resumed_then_bars_up_to_the_cursor_warm_up_once_and_later_are_skipped(
    tmp_path: Path,
) -> None:
    stepped: list[int] = []
    kernel, strategy = _kernel(
        tmp_path, cursor=(2 * MIN, "SPY"), listeners=[lambda bar, step: stepped.append(bar.ts)]
    )
    assert kernel.warming
    assert kernel.advance(_bars(1, 2, 3, 4)) == (4 * MIN, "SPY")
    assert stepped == [3 * MIN, 4 * MIN]  # only the new bars are stepped and told
    assert strategy.shown == [MIN, 2 * MIN, 3 * MIN, 4 * MIN]  # the old ones rebuilt state
    assert not kernel.warming
    # A live feed offers the stored bars again on its next poll: only the new one counts.
    kernel.advance(_bars(1, 2, 3, 4, 5))
    assert stepped == [3 * MIN, 4 * MIN, 5 * MIN]
    assert strategy.shown[-1] == 5 * MIN
    assert strategy.shown.count(MIN) == 1


def test_kernel_when_stop_is_requested_then_the_bar_in_hand_is_finished_and_no_more(
    tmp_path: Path,
) -> None:
    stepped: list[int] = []

    def listener(bar: BarView, step: StepResult) -> None:
        stepped.append(bar.ts)

    kernel, _ = _kernel(tmp_path, listeners=[listener])
    assert kernel.advance(_bars(1, 2, 3), should_stop=lambda: len(stepped) >= 2) == (
        2 * MIN,
        "SPY",
    )
    assert stepped == [MIN, 2 * MIN]
    assert kernel.cursor == (2 * MIN, "SPY")


def test_kernel_when_not_resumable_then_every_bar_given_is_stepped_duplicates_included(
    tmp_path: Path,
) -> None:
    stepped: list[int] = []
    kernel, _ = _kernel(tmp_path, resumable=False, listeners=[lambda b, s: stepped.append(b.ts)])
    kernel.advance(_bars(1, 1, 2))
    assert stepped == [MIN, MIN, 2 * MIN]


def test_kernel_when_a_new_account_starts_at_the_latest_bar_then_the_anchor_keeps_it(
    tmp_path: Path,
) -> None:
    anchored: list[tuple[int, str]] = []
    kernel, strategy = _kernel(tmp_path, anchor=anchored.append)
    kernel.start_at((2 * MIN, "SPY"))
    assert anchored == [(2 * MIN, "SPY")]
    kernel.advance(_bars(1, 2, 3))
    assert kernel.engine.portfolio.cash == Decimal(ExecutionConfig().initial_cash_usd)
    assert strategy.shown == [MIN, 2 * MIN, 3 * MIN]


class _FakePacer:
    """Monotonic seconds that move only when the kernel sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_kernel_run_when_on_a_clock_then_tasks_run_when_due_around_each_tick(
    tmp_path: Path,
) -> None:
    kernel, _ = _kernel(tmp_path)
    fake = _FakePacer()
    events: list[str] = []
    every_three = PeriodicTask(3.0, lambda: events.append(f"refresh@{fake.now:g}"))
    heartbeat = PeriodicTask(2.0, lambda: events.append(f"beat@{fake.now:g}"))

    def tick() -> None:
        events.append(f"tick@{fake.now:g}")

    kernel.run(
        tick,
        every_s=1.0,
        should_stop=lambda: fake.now >= 4.0,
        pacer=Pacer(fake.monotonic, fake.sleep, slice_s=1.0),
        before=[every_three],
        after=[heartbeat],
    )
    assert events == [
        "refresh@0",
        "tick@0",
        "beat@0",
        "tick@1",
        "tick@2",
        "beat@2",
        "refresh@3",
        "tick@3",
    ]


def test_kernel_run_when_once_then_one_tick_and_no_wait(tmp_path: Path) -> None:
    kernel, _ = _kernel(tmp_path)
    fake = _FakePacer()
    ticks: list[float] = []
    kernel.run(
        lambda: ticks.append(fake.now),
        every_s=30.0,
        should_stop=lambda: False,
        pacer=Pacer(fake.monotonic, fake.sleep),
        once=True,
    )
    assert ticks == [0.0]
    assert fake.slept == []


def test_only_the_kernel_steps_a_session() -> None:
    """Backtest, paper, simulate, live and the daemon have no stepping loop of their own:
    ``TradingSession.step`` is called in exactly one place of the product code."""
    callers = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "step"
                and ast.unparse(node.func.value).endswith("session")
            ):
                callers.append(str(path.relative_to(SRC)))
    assert callers == ["execution/kernel.py"]
