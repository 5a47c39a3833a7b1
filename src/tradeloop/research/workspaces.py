"""Workspaces: the research jobs and modeling sessions of a team, and its members' roles.

A workspace with no members is open to any caller holding the API token (the ``default``
workspace is, until someone adds a member). Once it has members, a change inside it needs
the caller's name (``X-Tradeloop-Actor`` on the API, ``--actor`` on the CLI) to be a
member with enough role: ``viewer`` reads, ``editor`` submits jobs and commits steps,
``owner`` manages members. The token proves the caller may use the control plane; the
name says who they are within it, so this keeps a team's work apart and attributed, it is
not a boundary against someone holding the token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tradeloop.core.errors import ConfigError
from tradeloop.domain.workspace import MEMBER, ROLES, SLUG, Workspace


class WorkspaceDenied(ConfigError):
    """The caller is not a member of the workspace with the role the change needs."""


class WorkspaceStore(Protocol):
    def create(self, workspace: Workspace) -> bool: ...  # False: the id exists
    def get(self, workspace_id: str) -> Workspace | None: ...
    def all(self) -> list[Workspace]: ...
    def set_member(self, workspace_id: str, member: str, role: str, by: str, now: int) -> None: ...
    def remove_member(self, workspace_id: str, member: str, by: str, now: int) -> bool: ...


class Workspaces:
    def __init__(self, store: WorkspaceStore, clock: Callable[[], int]) -> None:
        self.store, self.clock = store, clock

    def create(self, workspace_id: str, title: str, actor: str) -> Workspace:
        """A new workspace whose creator is its first owner."""
        if not SLUG.match(workspace_id):
            raise ConfigError(
                f"workspace id {workspace_id!r}: lowercase letters, digits, _ . - (<= 48), "
                "starting with a letter or digit"
            )
        _check_member(actor)
        now = self.clock()
        if not self.store.create(Workspace(workspace_id, title[:128] or workspace_id, actor, now)):
            raise WorkspaceExists(f"workspace {workspace_id!r} exists")
        self.store.set_member(workspace_id, actor, "owner", actor, now)
        return self.get(workspace_id)

    def get(self, workspace_id: str) -> Workspace:
        found = self.store.get(workspace_id)
        if found is None:
            raise ConfigError(
                f"no workspace {workspace_id!r}. Fix: tradeloop research workspace create "
                f"{workspace_id} (or leave it out for 'default')"
            )
        return found

    def all(self) -> list[Workspace]:
        return self.store.all()

    def authorize(self, workspace_id: str, actor: str, need: str) -> Workspace:
        """The workspace, when ``actor`` may do what needs ``need`` in it."""
        workspace = self.get(workspace_id)
        if not workspace.allows(actor, need):
            held = workspace.members.get(actor)
            standing = f"has role {held} in" if held else "is not a member of"
            raise WorkspaceDenied(
                f"{actor!r} {standing} workspace {workspace_id!r}; this needs {need}. Fix: "
                f"an owner runs tradeloop research workspace add-member {workspace_id} "
                f"{actor} --role {need}"
            )
        return workspace

    def set_member(self, workspace_id: str, member: str, role: str, actor: str) -> Workspace:
        if role not in ROLES:
            raise ConfigError(f"role {role!r}: one of {', '.join(ROLES)}")
        _check_member(member)
        workspace = self.authorize(workspace_id, actor, "owner")
        if workspace.open and role != "owner":
            # the first member must be able to manage the others, or nobody could
            raise ConfigError(
                f"workspace {workspace_id!r} has no members yet: add an owner first (--role owner)"
            )
        if workspace.members.get(member) == "owner" and role != "owner":
            _keep_an_owner(workspace, member)
        self.store.set_member(workspace_id, member, role, actor, self.clock())
        return self.get(workspace_id)

    def remove_member(self, workspace_id: str, member: str, actor: str) -> Workspace:
        workspace = self.authorize(workspace_id, actor, "owner")
        if member not in workspace.members:
            raise ConfigError(f"no member {member!r} in workspace {workspace_id!r}")
        if workspace.members[member] == "owner":
            _keep_an_owner(workspace, member)
        self.store.remove_member(workspace_id, member, actor, self.clock())
        return self.get(workspace_id)


class WorkspaceExists(ConfigError):
    pass


def _check_member(name: str) -> None:
    if not MEMBER.match(name):
        raise ConfigError(
            f"member name {name!r}: letters, digits, _ . @ - (<= 64), starting with a letter "
            "or digit"
        )


def _keep_an_owner(workspace: Workspace, leaving: str) -> None:
    owners = [m for m, r in workspace.members.items() if r == "owner" and m != leaving]
    if not owners:
        raise ConfigError(
            f"{leaving!r} is the last owner of workspace {workspace.workspace_id!r}: make "
            "another member owner first"
        )
