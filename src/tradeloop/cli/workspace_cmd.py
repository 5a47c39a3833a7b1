"""``tradeloop research workspace``: teams' workspaces and their members' roles."""

from __future__ import annotations

import getpass
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors

app = typer.Typer(
    help=(
        "Workspaces keep a team's research jobs and modeling sessions apart. A workspace "
        "with no members is open to anyone holding the API token; once it has members, "
        "changes in it need the caller's role (viewer < editor < owner).\n\n"
        "Examples:\n\n"
        "  tradeloop research workspace create es-team --title 'ES desk'\n\n"
        "  tradeloop research workspace add-member es-team alice --role editor\n\n"
        "  tradeloop research workspace list\n\n"
        "Exit codes: 0 ok, 2 bad input or refused."
    ),
    no_args_is_help=True,
)
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="who you are in the workspace (default: your login name)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _workspaces() -> Any:
    from tradeloop.bootstrap.research import workspaces
    from tradeloop.settings import load_settings

    return workspaces(load_settings())


def _show(found: list[Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps([w.public() for w in found], indent=2))
        return
    table = Table(title="Workspaces", caption="open: no members yet, any token holder may work")
    for column in ("workspace", "title", "members", "created by"):
        table.add_column(column)
    for w in found:
        members = ", ".join(f"{m} ({r})" for m, r in sorted(w.members.items())) or "open"
        table.add_row(w.workspace_id, w.title, members, w.created_by)
    Console(highlight=False).print(table)


@app.command("create")
def create(
    workspace_id: Annotated[str, typer.Argument(help="lowercase id, e.g. es-team")],
    title: Annotated[str, typer.Option("--title", help="a readable name")] = "",
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace; you become its first owner."""
    with handled_errors():
        _show([_workspaces().create(workspace_id, title, actor or getpass.getuser())], as_json)


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """Every workspace with its members."""
    with handled_errors():
        _show(_workspaces().all(), as_json)


@app.command("add-member")
def add_member(
    workspace_id: Annotated[str, typer.Argument(help="the workspace")],
    member: Annotated[str, typer.Argument(help="the member's name")],
    role: Annotated[str, typer.Option("--role", help="viewer, editor or owner")] = "editor",
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a member or change their role (owners only; the first member is an owner)."""
    with handled_errors():
        found = _workspaces().set_member(workspace_id, member, role, actor or getpass.getuser())
        _show([found], as_json)


@app.command("remove-member")
def remove_member(
    workspace_id: Annotated[str, typer.Argument(help="the workspace")],
    member: Annotated[str, typer.Argument(help="the member's name")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a member (owners only; the last owner stays)."""
    with handled_errors():
        found = _workspaces().remove_member(workspace_id, member, actor or getpass.getuser())
        _show([found], as_json)
