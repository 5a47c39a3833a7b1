"""Workspaces and their members in SQL (``workspace``, ``workspace_member``); every
change of membership writes an ``audit_event`` row in the same transaction."""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import ColumnElement, Connection, Engine, delete, select

from tradeloop.domain.workspace import Workspace
from tradeloop.store.sql.tables import audit_event, workspace, workspace_member
from tradeloop.store.sql.transaction import transaction
from tradeloop.store.sql.upsert import insert_if_absent, upsert


class SqlWorkspaces:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, made: Workspace) -> bool:
        row = {f.name: getattr(made, f.name) for f in dataclasses.fields(made)}
        row.pop("members")
        with transaction(self.engine) as connection:
            return insert_if_absent(connection, workspace, row, ["workspace_id"])

    def get(self, workspace_id: str) -> Workspace | None:
        found = self._load(workspace.c.workspace_id == workspace_id)
        return found[0] if found else None

    def all(self) -> list[Workspace]:
        return self._load(None)

    def _load(self, where: ColumnElement[bool] | None) -> list[Workspace]:
        query = select(workspace).order_by(workspace.c.workspace_id)
        members = select(workspace_member)
        if where is not None:
            query = query.where(where)
            members = members.where(workspace_member.c.workspace_id.in_(
                select(workspace.c.workspace_id).where(where)
            ))  # fmt: skip
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            roles: dict[str, dict[str, str]] = {}
            for m in connection.execute(members):
                roles.setdefault(m.workspace_id, {})[m.member] = m.role
        return [
            Workspace(
                r.workspace_id, r.title, r.created_by, r.created_at, roles.get(r.workspace_id, {})
            )
            for r in rows
        ]

    def set_member(self, workspace_id: str, member: str, role: str, by: str, now: int) -> None:
        row = {"workspace_id": workspace_id, "member": member, "role": role,
               "added_by": by[:64], "added_at": now}  # fmt: skip
        with transaction(self.engine) as connection:
            upsert(connection, workspace_member, [row], ["workspace_id", "member"])
            _audit(connection, "workspace_member_set", workspace_id,
                   {"member": member, "role": role}, by, now)  # fmt: skip

    def remove_member(self, workspace_id: str, member: str, by: str, now: int) -> bool:
        with transaction(self.engine) as connection:
            gone = connection.execute(
                delete(workspace_member)
                .where(workspace_member.c.workspace_id == workspace_id)
                .where(workspace_member.c.member == member)
            ).rowcount
            if gone:
                _audit(connection, "workspace_member_removed", workspace_id,
                       {"member": member}, by, now)  # fmt: skip
        return bool(gone)


def _audit(connection: Connection, kind: str, subject: str, payload: dict[str, str], actor: str,
           now: int) -> None:  # fmt: skip
    connection.execute(
        audit_event.insert().values(
            kind=kind,
            subject=subject,
            payload_json=json.dumps(payload),
            actor=actor[:64],
            ts_event=now,
        )
    )
