"""Workspaces in the project database (SQLite and PostgreSQL): the default one exists and
is open; its creator owns a new one; roles rank viewer < editor < owner; a workspace
never loses its last owner; every membership change is audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select

from tradeloop.core.errors import ConfigError
from tradeloop.research.workspaces import WorkspaceDenied, WorkspaceExists, Workspaces
from tradeloop.store.sql.tables import audit_event
from tradeloop.store.sql.workspaces import SqlWorkspaces

NOW = 1_796_000_000_000_000_000


def _workspaces(engine: Engine) -> Workspaces:
    return Workspaces(SqlWorkspaces(engine), lambda: NOW)


def test_default_workspace_when_migrated_then_exists_open_to_any_caller(engine: Engine) -> None:
    workspaces = _workspaces(engine)
    default = workspaces.get("default")
    assert default.open
    assert default.members == {}
    assert workspaces.authorize("default", "anyone", "owner") == default
    with pytest.raises(ConfigError, match="first"):
        workspaces.set_member("default", "alice", "editor", "alice")
    workspaces.set_member("default", "alice", "owner", "alice")
    with pytest.raises(WorkspaceDenied):
        workspaces.authorize("default", "bob", "viewer")


def test_workspace_when_created_then_creator_owns_it_and_roles_rank(engine: Engine) -> None:
    workspaces = _workspaces(engine)
    made = workspaces.create("es-team", "ES desk", "alice")
    assert (made.title, made.created_by, made.members) == ("ES desk", "alice", {"alice": "owner"})
    with pytest.raises(WorkspaceExists):
        workspaces.create("es-team", "again", "bob")
    workspaces.set_member("es-team", "bob", "editor", "alice")
    workspaces.set_member("es-team", "carol", "viewer", "alice")
    assert workspaces.authorize("es-team", "bob", "editor").members["bob"] == "editor"
    with pytest.raises(
        WorkspaceDenied, match=r"'bob' has role editor in workspace 'es-team'; this needs owner"
    ):
        workspaces.set_member("es-team", "dave", "viewer", "bob")
    with pytest.raises(WorkspaceDenied, match="not a member"):
        workspaces.authorize("es-team", "mallory", "viewer")
    workspaces.authorize("es-team", "carol", "viewer")
    with pytest.raises(WorkspaceDenied):
        workspaces.authorize("es-team", "carol", "editor")
    assert [w.workspace_id for w in workspaces.all()] == ["default", "es-team"]


def test_workspace_when_last_owner_leaves_or_is_demoted_then_refused(engine: Engine) -> None:
    workspaces = _workspaces(engine)
    workspaces.create("w", "", "alice")
    with pytest.raises(ConfigError, match="last owner"):
        workspaces.remove_member("w", "alice", "alice")
    with pytest.raises(ConfigError, match="last owner"):
        workspaces.set_member("w", "alice", "editor", "alice")
    workspaces.set_member("w", "bob", "owner", "alice")
    assert workspaces.remove_member("w", "alice", "bob").members == {"bob": "owner"}
    with pytest.raises(ConfigError, match="no member 'alice'"):
        workspaces.remove_member("w", "alice", "bob")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda w: w.create("Bad Id", "", "alice"), "workspace id 'Bad Id'"),
        (lambda w: w.create("ok", "", "no spaces"), "member name 'no spaces'"),
        (lambda w: w.get("nope"), "no workspace 'nope'"),
        (lambda w: w.set_member("default", "a", "admin", "a"), "role 'admin'"),
    ],
)
def test_workspace_when_input_is_bad_then_refused_naming_it_and_nothing_written(
    engine: Engine, call: object, message: str
) -> None:
    workspaces = _workspaces(engine)
    with pytest.raises(ConfigError, match=message):
        call(workspaces)  # type: ignore[operator]
    assert [w.workspace_id for w in workspaces.all()] == ["default"]
    assert workspaces.get("default").members == {}


def test_membership_changes_when_made_then_each_is_audited(engine: Engine) -> None:
    workspaces = _workspaces(engine)
    workspaces.create("w", "", "alice")
    workspaces.set_member("w", "bob", "viewer", "alice")
    workspaces.remove_member("w", "bob", "alice")
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_event).where(audit_event.c.subject == "w").order_by(audit_event.c.id)
        ).all()
    assert [(r.kind, json.loads(r.payload_json), r.actor) for r in rows] == [
        ("workspace_member_set", {"member": "alice", "role": "owner"}, "alice"),
        ("workspace_member_set", {"member": "bob", "role": "viewer"}, "alice"),
        ("workspace_member_removed", {"member": "bob"}, "alice"),
    ]
