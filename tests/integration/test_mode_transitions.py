"""Account modes on SQLite and PostgreSQL, on a fake clock: every gate failing and passing,
the pre-flight backup only when the rest passed, forced promotions audited, the weekly
ramp-up stepping after a profitable week and holding after a losing one, and the live
refusal of an account that was never promoted."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tradeloop.core.errors import ConfigError, TradingRefused
from tradeloop.risk.config import RiskConfig
from tradeloop.rollout.config import PromotionConfig
from tradeloop.rollout.mode_gates import DryRun, PaperRecord, Preflight
from tradeloop.store.sql.rollout_records import SqlAccountModes
from tradeloop.store.sql.tables import audit_event
from tradeloop.usecases import mode_transition as mt

DAY = 86_400 * 10**9
T0 = 1_780_000_000 * 10**9  # 2026-05-28, a fixed instant

GOOD_MANIFEST = {
    "episodes": 120,
    "learning": {"first_decile": -0.02, "last_decile": 0.03},
    "validation": {"mean": {"total_return": 0.04}},
}
GOOD_RECORD = PaperRecord(15.0, 0.052, 0.8, 0.031, 0.52, 60, 60, ())
GOOD_DRY = DryRun(2.0, 40, 40, 0)


@dataclasses.dataclass
class FakeEvidence:
    manifest: dict[str, Any] = dataclasses.field(default_factory=lambda: dict(GOOD_MANIFEST))
    files: list[str] = dataclasses.field(default_factory=lambda: ["checkpoint.pt", "policy.onnx"])
    record: PaperRecord = GOOD_RECORD
    dry: DryRun = GOOD_DRY
    cash: float = 25_000.0
    backups: list[int] = dataclasses.field(default_factory=list)
    pnl: dict[int, float] = dataclasses.field(default_factory=dict)  # week start -> P&L

    def agent(self, ref: str) -> tuple[dict[str, Any], list[str]]:
        return self.manifest, self.files

    def paper_record(self, account: str, since_ns: int, now_ns: int) -> PaperRecord:
        return self.record

    def dry_run(self, now_ns: int) -> DryRun:
        return self.dry

    def backup(self, now_ns: int) -> tuple[bool, str]:
        self.backups.append(now_ns)
        return True, "var/backups/x"

    def preflight(self, account: str, now_ns: int) -> Preflight:
        return Preflight(
            (),
            True,
            None,
            self.cash,
            100,
            "100 horizons",
            True,
            "ok",
            False,
            "not taken",
        )

    def week_pnl(self, account: str, start_ns: int, end_ns: int) -> float:
        return self.pnl.get(start_ns, 0.0)


def _audits(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_event).order_by(audit_event.c.id)).all()
    return [{"kind": r.kind, **json.loads(r.payload_json)} for r in rows]


def _paper(store: SqlAccountModes, evidence: FakeEvidence, notes: list[str]) -> None:
    change = mt.promote(
        mt.ModeDesk(store, evidence, PromotionConfig()),
        "main",
        "paper",
        T0,
        mt.Actor("ops", lambda t, x: notes.append(t)),
    )
    assert change.changed


def test_promote_to_paper_when_each_gate_fails_then_refused_and_nothing_changes(
    engine: Engine,
) -> None:
    store, config = SqlAccountModes(engine), PromotionConfig()
    cases = {
        "training episodes": {"episodes": 99},
        "learning curve improved (last decile vs first)": {
            "learning": {"first_decile": 0.03, "last_decile": 0.03}
        },
        "held-out validation return": {"validation": {"mean": {"total_return": 0.0}}},
    }
    for failing, patch in cases.items():
        evidence = FakeEvidence(manifest={**GOOD_MANIFEST, **patch})
        change = mt.promote(
            mt.ModeDesk(store, evidence, config), "main", "paper", T0, mt.Actor("ops")
        )
        assert not change.changed
        assert [c.name for c in change.criteria if not c.ok] == [failing]
    no_checkpoint = FakeEvidence(files=["policy.onnx"])
    change = mt.promote(
        mt.ModeDesk(store, no_checkpoint, config), "main", "paper", T0, mt.Actor("ops")
    )
    assert [c.name for c in change.criteria if not c.ok] == ["checkpoint saved"]
    assert store.get("main") is None
    assert _audits(engine) == []
    notes: list[str] = []
    _paper(store, FakeEvidence(), notes)
    mode = store.get("main")
    assert mode is not None
    assert (mode.mode, mode.paper_since_ns) == ("paper", T0)
    assert notes == ["mode promote main -> paper"]
    assert _audits(engine)[-1]["kind"] == "mode.promote"


@pytest.mark.parametrize(
    ("field", "value", "failing"),
    [
        ("days", 13.9, "days in paper mode"),
        ("total_return", -0.001, "paper total return"),
        ("sharpe", 0.5, "paper Sharpe"),
        ("max_drawdown", 0.15, "paper max drawdown"),
        ("win_rate", 0.45, "paper win rate"),
        ("trades", 49, "paper trades"),
        ("trades_table", 59, "every trade logged (journal = trades table)"),
        (
            "failures",
            ("2026-06-01T10:00:00Z tick: VenueError: 503",),
            "no crash or venue failure in the window",
        ),
    ],
)
def test_promote_to_live_when_one_gate_fails_then_refused_without_backup(
    engine: Engine, field: str, value: Any, failing: str
) -> None:
    store = SqlAccountModes(engine)
    _paper(store, FakeEvidence(), [])
    evidence = FakeEvidence(record=dataclasses.replace(GOOD_RECORD, **{field: value}))
    if field == "trades":
        evidence.record = dataclasses.replace(evidence.record, trades_table=49)
    change = mt.promote(
        mt.ModeDesk(store, evidence, PromotionConfig()),
        "main",
        "live",
        T0 + 15 * DAY,
        mt.Actor("ops"),
    )
    assert not change.changed
    assert [c.name for c in change.criteria if not c.ok] == [
        failing,
        "backup of config and database",
    ]
    assert evidence.backups == []  # a refused promotion leaves no backup behind
    assert store.get("main").mode == "paper"  # type: ignore[union-attr]


def test_promote_to_live_when_dry_run_or_preflight_fails_then_refused(engine: Engine) -> None:
    store, config = SqlAccountModes(engine), PromotionConfig()
    _paper(store, FakeEvidence(), [])
    for dry in (DryRun(None, 0, 0, 0), DryRun(25.0, 10, 10, 0), DryRun(1.0, 10, 10, 1)):
        change = mt.promote(
            mt.ModeDesk(store, FakeEvidence(dry=dry), config),
            "main",
            "live",
            T0 + 15 * DAY,
            mt.Actor("ops"),
        )
        assert "simulate dry run" in [c.name for c in change.criteria if not c.ok]
    poor = FakeEvidence(cash=9_999.99)
    change = mt.promote(
        mt.ModeDesk(store, poor, config), "main", "live", T0 + 15 * DAY, mt.Actor("ops")
    )
    assert "available cash" in [c.name for c in change.criteria if not c.ok]
    assert store.get("main").mode == "paper"  # type: ignore[union-attr]


def test_promote_when_forced_then_reason_required_and_failing_gates_audited(
    engine: Engine,
) -> None:
    store = SqlAccountModes(engine)
    weak = FakeEvidence(manifest={**GOOD_MANIFEST, "episodes": 10})
    with pytest.raises(ConfigError, match="--reason"):
        mt.promote(
            mt.ModeDesk(store, weak, PromotionConfig()),
            "main",
            "paper",
            T0,
            mt.Actor("ops"),
            force=True,
        )
    change = mt.promote(
        mt.ModeDesk(store, weak, PromotionConfig()),
        "main",
        "paper",
        T0,
        mt.Actor("ops"),
        force=True,
        reason="demo account",
    )
    assert change.changed
    assert change.forced
    audit = _audits(engine)[-1]
    assert audit["forced"] is True
    assert audit["reason"] == "demo account"
    assert [c["name"] for c in audit["criteria"] if not c["ok"]] == ["training episodes"]
    with pytest.raises(ConfigError, match="one step at a time"):
        mt.promote(
            mt.ModeDesk(store, FakeEvidence(), PromotionConfig()),
            "other",
            "live",
            T0,
            mt.Actor("ops"),
        )


def test_live_ramp_when_weeks_pass_then_steps_after_profit_and_holds_after_loss(
    engine: Engine,
) -> None:
    store, config, base = SqlAccountModes(engine), PromotionConfig(), RiskConfig()
    evidence, notes = FakeEvidence(), []
    actor = mt.Actor("ops", lambda title, text: notes.append(title))
    with pytest.raises(TradingRefused, match="promote --account main --to live"):
        mt.live_limits(store, evidence, config, "main", base, T0, actor)
    _paper(store, evidence, [])
    live_at = T0 + 15 * DAY
    assert mt.promote(mt.ModeDesk(store, evidence, config), "main", "live", live_at, actor).changed
    assert evidence.backups == [live_at]
    week = 7 * DAY
    evidence.pnl = {live_at: 120.0, live_at + week: -40.0, live_at + 2 * week: 10.0}
    steps = []
    for day in (1, 8, 9, 15, 22, 29, 36):
        limits = mt.live_limits(store, evidence, config, "main", base, live_at + day * DAY, actor)
        steps.append((limits.week, limits.step + 1, limits.risk.max_deployed_usd))
    assert steps == [
        (1, 1, 2_000.0),
        (2, 2, 5_000.0),  # week 1 made 120 USD
        (2, 2, 5_000.0),
        (3, 2, 5_000.0),  # week 2 lost 40 USD: held
        (4, 3, 7_000.0),  # week 3 made 10 USD
        (5, 3, 7_000.0),  # week 4 flat: held
        (6, 3, 7_000.0),
    ]
    reviews = store.reviews("main", live_at)
    assert [(r.week, r.outcome) for r in reviews] == [
        (1, "stepped"),
        (2, "held"),
        (3, "stepped"),
        (4, "held"),
        (5, "held"),
    ]
    # each review once, however often it is asked for
    assert sum(1 for a in _audits(engine) if a["kind"] == "mode.ramp") == 5
    assert notes.count("ramp main week 2: held") == 1
    assert limits.first_day.allowed_symbols == ("AAPL", "MSFT", "GOOGL")
    assert limits.first_day.max_position_size == 0.10
    assert not limits.first_day.allow_short
    mt.demote(store, "main", "paper", live_at + 40 * DAY, actor, "drawdown")
    with pytest.raises(TradingRefused):
        mt.live_limits(store, evidence, config, "main", base, live_at + 41 * DAY, actor)


def test_ramp_review_when_stored_twice_then_second_is_refused_and_audited_once(
    engine: Engine,
) -> None:
    from tradeloop.rollout.ramp import RampReview

    store = SqlAccountModes(engine)
    review = RampReview(1, 120.0, "stepped", 1)
    assert store.add_review("main", T0, review, T0 + 8 * DAY, "ops")
    assert not store.add_review("main", T0, RampReview(1, -5.0, "held", 0), T0 + 9 * DAY, "ops")
    assert store.reviews("main", T0) == [review]
    assert [a["kind"] for a in _audits(engine)] == ["mode.ramp"]
