"""The stream stages' decision log on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from tradeloop.store.sql.stream_decisions import SqlDecisionLog


def test_decisions_when_recorded_twice_then_first_wins_and_reads_back(engine: Engine) -> None:
    log = SqlDecisionLog(engine)
    stored = log.record("executor", {"m1": {"outcome": "drop", "reason": "WARMUP: 1 s"}}, 10)
    assert stored == {"m1": {"outcome": "drop", "reason": "WARMUP: 1 s"}}
    # another replica decided the same message differently afterwards: the first stands
    again = log.record("executor", {"m1": {"outcome": "order"}, "m2": {"outcome": "drop"}}, 20)
    assert again["m1"] == {"outcome": "drop", "reason": "WARMUP: 1 s"}
    assert log.get("executor", ["m1", "m2", "m3"]).keys() == {"m1", "m2"}
    assert log.get("risk", ["m1"]) == {}  # per stage
    assert log.outcomes("executor") == {"drop": 2}


def test_decisions_when_read_since_then_oldest_first_and_pruned(engine: Engine) -> None:
    log = SqlDecisionLog(engine)
    log.record("risk-fills", {"f2": {"outcome": "fill", "n": 2}}, 200)
    log.record("risk-fills", {"f1": {"outcome": "fill", "n": 1}}, 100)
    assert [d["n"] for d in log.since("risk-fills", 0)] == [1, 2]
    assert [d["n"] for d in log.since("risk-fills", 150)] == [2]
    assert log.prune(150) == 1
    assert log.get("risk-fills", ["f1", "f2"]).keys() == {"f2"}
