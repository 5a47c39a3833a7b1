"""Graduated exposure in SQL: account modes (each change audited in the same
transaction), the live ramp's weekly reviews, and versioned rollout documents."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, insert, select, text, update

from tradeloop.rollout.account_mode import AccountMode
from tradeloop.rollout.ramp import RampReview
from tradeloop.store.sql.audit import record_audit_event
from tradeloop.store.sql.tables import account_mode, ramp_review, rollout_state, trades
from tradeloop.store.sql.transaction import transaction
from tradeloop.store.sql.upsert import insert_if_absent


def _mode(row: Any) -> AccountMode:
    return AccountMode(row.account, row.mode, row.since_ns, row.paper_since_ns,
                       row.live_since_ns, row.actor, row.reason)  # fmt: skip


class SqlAccountModes:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, account: str) -> AccountMode | None:
        query = select(account_mode).where(account_mode.c.account == account)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _mode(row)

    def all(self) -> list[AccountMode]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(account_mode).order_by(account_mode.c.account))
            return [_mode(r) for r in rows]

    def save(self, mode: AccountMode, audit: dict[str, Any]) -> None:
        """Store the account's new mode and its audit event together."""
        values = {"mode": mode.mode, "since_ns": mode.since_ns,
                  "paper_since_ns": mode.paper_since_ns, "live_since_ns": mode.live_since_ns,
                  "actor": mode.actor[:64], "reason": mode.reason}  # fmt: skip
        with transaction(self.engine) as connection:
            changed = connection.execute(
                update(account_mode).where(account_mode.c.account == mode.account).values(values)
            ).rowcount
            if not changed:
                connection.execute(insert(account_mode).values(account=mode.account, **values))
            record_audit_event(connection, "mode." + str(audit.get("action", "change")),
                               mode.account, audit, mode.actor)  # fmt: skip

    def reviews(self, account: str, live_since_ns: int) -> list[RampReview]:
        query = (
            select(ramp_review)
            .where(ramp_review.c.account == account, ramp_review.c.live_since_ns == live_since_ns)
            .order_by(ramp_review.c.week)
        )
        with self.engine.connect() as connection:
            return [RampReview(r.week, float(r.pnl_usd), r.outcome, r.step)
                    for r in connection.execute(query)]  # fmt: skip

    def add_review(
        self, account: str, live_since_ns: int, review: RampReview, now_ns: int, actor: str
    ) -> bool:
        """Store a week's review once (natural key: account, live start, week); False when
        it was stored already (another process reviewed the week first)."""
        row = {"account": account, "live_since_ns": live_since_ns, "week": review.week,
               "pnl_usd": Decimal(repr(review.pnl_usd)), "outcome": review.outcome,
               "step": review.step, "reviewed_at": now_ns}  # fmt: skip
        with transaction(self.engine) as connection:
            stored = insert_if_absent(connection, ramp_review, row,
                                      ("account", "live_since_ns", "week"))  # fmt: skip
            if stored:
                payload = {"action": "ramp", "week": review.week, "pnl_usd": review.pnl_usd,
                           "outcome": review.outcome, "step": review.step + 1}  # fmt: skip
                record_audit_event(connection, "mode.ramp", account, payload, actor)
        return stored


class SqlRolloutStates:
    """Named JSON documents with a version: a write names the version it read."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, name: str) -> tuple[int, dict[str, Any]] | None:
        query = select(rollout_state.c.version, rollout_state.c.state_json).where(
            rollout_state.c.name == name
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def put(self, name: str, state: dict[str, Any], version: int, now_ns: int) -> bool:
        """Write version ``version + 1`` if the stored one is still ``version`` (0: none);
        False when another writer got there first."""
        text = json.dumps(state, sort_keys=True, allow_nan=False)
        with transaction(self.engine) as connection:
            if version == 0:
                row = {"name": name, "state_json": text, "version": 1, "updated_at": now_ns}
                return insert_if_absent(connection, rollout_state, row, ("name",))
            statement = (
                update(rollout_state)
                .where(rollout_state.c.name == name, rollout_state.c.version == version)
                .values(state_json=text, version=version + 1, updated_at=now_ns)
            )
            return bool(connection.execute(statement).rowcount)


def trades_logged(engine: Engine, run_id: str, since_ns: int, until_ns: int) -> tuple[int, Decimal]:
    """Rows of ``trades`` for the run closed in [since, until), and their P&L sum."""
    query = select(func.count(), func.coalesce(func.sum(trades.c.pnl), 0)).where(
        trades.c.run_id == run_id, trades.c.ts_exit >= since_ns, trades.c.ts_exit < until_ns
    )
    with engine.connect() as connection:
        count, pnl = connection.execute(query).one()
    return int(count), Decimal(str(pnl))


def database_integrity(engine: Engine) -> tuple[bool, str]:
    """SQLite's quick_check, or PostgreSQL answering with the schema at its head."""
    from tradeloop.store.sql.migrate import HEAD_REVISION

    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                verdict = [r[0] for r in connection.execute(text("PRAGMA quick_check"))]
                if verdict != ["ok"]:
                    return False, "quick_check: " + "; ".join(verdict[:3])
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any failure to read is the finding
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    if revision != HEAD_REVISION:
        return False, f"schema at {revision}, expected {HEAD_REVISION} (tradeloop db upgrade)"
    return True, f"ok ({engine.dialect.name}, schema {revision})"


def release_states(engine: Engine) -> list[dict[str, Any]]:
    """Every release document (``release:<model id>``), newest first."""
    query = (
        select(rollout_state.c.state_json)
        .where(rollout_state.c.name.like("release:%"))
        .order_by(rollout_state.c.updated_at.desc())
    )
    with engine.connect() as connection:
        return [json.loads(row[0]) for row in connection.execute(query)]
