"""``tradeloop models``: list, show, promote, rollback, diff and evaluate model versions."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import EXIT_FAILED, handled_errors
from tradeloop.core.errors import ConfigError, DataError, GateRejected
from tradeloop.core.time import iso_from_ns

if TYPE_CHECKING:
    from tradeloop.bootstrap.app import App
    from tradeloop.registry.gates import GateResult
    from tradeloop.registry.registry import Promotion

app = typer.Typer(
    help=(
        "Model versions and their aliases (candidate, active, shadow, prev).\n\nExamples:\n\n"
        "  tradeloop models list\n\n  tradeloop models show active\n\n"
        "  tradeloop models evaluate            # gates, then candidate -> active\n\n"
        "  tradeloop models promote 3f2a... --to shadow\n\n"
        "  tradeloop models promote 3f2a... --to active --force --reason 'hotfix'\n\n"
        "  tradeloop models rollback --reason 'precision dropped'\n\n"
        "  tradeloop models diff prev active\n\n"
        "Exit codes: 0 ok, 1 a gate refused, 2 bad input."
    ),
    no_args_is_help=True,
)

NameOption = Annotated[str, typer.Option("--name", help="model name")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
ConfigOption = Annotated[Path | None, typer.Option(help="config file")]
# list and show read the registry only (no gate, so no config); the option stays so that
# scripts written for earlier versions keep working.
UnreadConfig = Annotated[
    Path | None, typer.Option("--config", hidden=True, help="ignored: nothing here reads it")
]
DEFAULT_NAME = "pivot-events"


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _resolve(app: App, name: str, ref: str) -> str:
    """A version id from an alias name or an id prefix."""
    registry = app.registry()
    aliased = registry.resolve(name, ref)
    if aliased:
        return aliased
    matches = [
        v.model_version_id for v in registry.versions(name) if v.model_version_id.startswith(ref)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DataError(
            f"model {name}: no alias or version matches {ref!r}; see tradeloop models list"
        )
    raise DataError(f"model {name}: {ref!r} is ambiguous ({', '.join(matches)})")


FamilyOption = Annotated[
    str | None, typer.Option("--name", help="one model family (default: every family)")
]


def _version_rows(registry: Any, name: str) -> dict[str, Any]:
    from tradeloop.registry.governance import model_entries

    aliases = registry.aliases(name)
    rows = []
    for version in registry.versions(name):
        manifest = version.manifest
        rows.append(
            {
                "model_version_id": version.model_version_id,
                "aliases": sorted(a for a, v in aliases.items() if v == version.model_version_id),
                "created_at": manifest.get("created_at") or iso_from_ns(version.ts_created),
                "trained_end": manifest.get("trained_end") or manifest.get("data_end") or "-",
                "feature_version": manifest.get("feature_version"),
                "models": len(model_entries(manifest)),
            }
        )
    return {"name": name, "aliases": aliases, "versions": rows}


@app.command("list")
def list_versions(
    name: FamilyOption = None, as_json: JsonOption = False, config: UnreadConfig = None
) -> None:
    """Every model family (the demo's, the pivot-event models, ...) and each version,
    oldest first, with the aliases pointing at it; --name shows one family."""
    from tradeloop.bootstrap.control import open_control
    from tradeloop.settings import load_settings

    with handled_errors():
        registry = open_control(load_settings(), read_only=True).registry_view()
        families = [name] if name else registry.names()
        listed = [_version_rows(registry, family) for family in families]
    if as_json:
        print(json.dumps({"models": listed}, indent=2))
        return
    if not any(family["versions"] for family in listed):
        where = f"model {name}" if name else "the registry"
        Console().print(f"{where}: no versions yet (tradeloop demo, or tradeloop train)")
        return
    table = Table(title="model versions")
    for column in ("model", "version", "aliases", "created", "trained end", "features", "models"):
        table.add_column(column)
    for family in listed:
        for row in family["versions"]:
            cells = (
                family["name"],
                row["model_version_id"],
                ",".join(row["aliases"]),
                row["created_at"],
                row["trained_end"],
                row["feature_version"],
                row["models"],
            )
            table.add_row(*map(str, cells))
    Console().print(table)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="alias (active, candidate, ...) or version id")],
    name: FamilyOption = None,
    as_json: JsonOption = False,
    config: UnreadConfig = None,
) -> None:
    """A version's manifest (verified against its checksums) and its model card; an alias
    is looked up in every family unless --name picks one."""
    from tradeloop.bootstrap.control import open_control
    from tradeloop.settings import load_settings

    with handled_errors():
        registry = open_control(load_settings(), read_only=True).registry_view()
        found = registry.find(ref, name)
        version_id = found.model_version_id
        files, manifest = registry.load(version_id)
        history = [r for r in registry.history(found.name, 200) if r.model_version_id == version_id]
    if as_json:
        manifest = {
            **manifest,
            "promotions": [
                {
                    "alias": r.alias,
                    "decision": r.decision,
                    "actor": r.actor,
                    "at": iso_from_ns(r.ts_event),
                    "reason": r.gate.get("reason", ""),
                }
                for r in history
            ],
        }
        print(json.dumps(manifest, indent=2, default=str))
        return
    card = files.get("MODEL_CARD.md")
    Console().print(card.decode() if card else json.dumps(manifest, indent=2, default=str))
    for record in history:
        Console().print(
            f"{iso_from_ns(record.ts_event)} {record.decision} -> {record.alias} "
            f"by {record.actor} {record.gate.get('reason', '')}"
        )


def _gate_table(title: str, gate: GateResult) -> Table:
    table = Table(title=title)
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for check, passed in gate.checks.items():
        table.add_row(
            check, "[green]pass[/]" if passed else "[red]FAIL[/]", gate.details.get(check, "")
        )
    return table


def _report(
    outcome: Promotion | None,
    error: GateRejected | None,
    as_json: bool,
    version_id: str,
    alias: str,
) -> None:
    from tradeloop.registry.registry import Promotion

    if error is not None and isinstance(error.outcome, Promotion):
        outcome = error.outcome
    assert outcome is not None
    from tradeloop.registry.governance import next_steps

    steps = next_steps(outcome.gate) if error is not None else []
    payload = {
        "model_version_id": version_id,
        "alias": alias,
        "decision": outcome.decision,
        "previous_version_id": outcome.previous_version_id,
        "gate": outcome.gate.as_dict(),
        "next_steps": steps,
    }
    if as_json:
        print(json.dumps(payload, indent=2))
    else:
        console = Console()
        console.print(_gate_table(f"{version_id} -> {alias}: {outcome.decision}", outcome.gate))
        if steps:
            console.print("next:", highlight=False)
            for step in steps:
                console.print(f"- {step}", highlight=False, markup=False)
    if error is not None:
        raise typer.Exit(EXIT_FAILED)


def _promote(
    name: str, ref: str, alias: str, force: bool, reason: str, as_json: bool, config: Path | None
) -> None:
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_governance_environment, load_settings

    with handled_errors():
        application = build_app(load_settings(), config)
        version_id = _resolve(application, name, ref)
        environment = load_governance_environment()
        if environment.force_promote and not force:
            force, reason = True, reason or "MODEL_GOV_FORCE_PROMOTE=true"
        try:
            outcome = application.registry().promote(
                name, version_id, alias, actor=_actor(), reason=reason, force=force
            )
        except GateRejected as exc:
            _report(None, exc, as_json, version_id, alias)
            return
    _report(outcome, None, as_json, version_id, alias)


@app.command("promote")
def promote(
    ref: Annotated[str, typer.Argument(help="version id (or a prefix of it) or alias")],
    to: Annotated[str, typer.Option("--to", help="active | shadow | candidate")] = "active",
    force: Annotated[bool, typer.Option(help="override failed gates (needs --reason)")] = False,
    reason: Annotated[str, typer.Option(help="why (kept in the audit)")] = "",
    name: NameOption = DEFAULT_NAME,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Point an alias at a version. ``active`` runs every governance gate first."""
    _promote(name, ref, to, force, reason, as_json, config)


@app.command("evaluate")
def evaluate(
    force: Annotated[bool, typer.Option(help="override failed gates (needs --reason)")] = False,
    reason: Annotated[str, typer.Option(help="why (kept in the audit)")] = "",
    name: NameOption = DEFAULT_NAME,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run the governance gates on ``candidate`` and promote it to ``active`` if all pass;
    print the gate table. Exit 1 when a gate refuses."""
    with handled_errors():
        if force and not reason.strip():
            raise ConfigError(
                "--force overrides failed gates and needs --reason TEXT (it is kept in the "
                "audit), e.g. --force --reason 'synthetic data: no edge expected'"
            )
    _promote(name, "candidate", "active", force, reason or "models evaluate", as_json, config)


@app.command("rollback")
def rollback(
    reason: Annotated[str, typer.Option(help="why (kept in the audit)")] = "",
    name: NameOption = DEFAULT_NAME,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Repoint ``active`` to ``prev`` (the version active before the last promotion)."""
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings

    with handled_errors():
        application = build_app(load_settings(), config)
        registry = application.registry()
        seen = registry.resolve(name, "active")  # what this operator rolls back from
        outcome = registry.rollback(name, actor=_actor(), reason=reason, expected_active=seen)
        active = registry.resolve(name, "active")
    if as_json:
        print(json.dumps({"active": active, "prev": outcome.previous_version_id}))
    else:
        Console().print(f"active -> {active} (was {outcome.previous_version_id}, now prev)")


@app.command("diff")
def diff(
    left: Annotated[str, typer.Argument(help="alias or version id")],
    right: Annotated[str, typer.Argument(help="alias or version id")],
    name: NameOption = DEFAULT_NAME,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Compare two versions: settings that differ and every model's metrics side by side."""
    from tradeloop.bootstrap.app import build_app
    from tradeloop.registry.governance import model_entries
    from tradeloop.settings import load_settings

    with handled_errors():
        application = build_app(load_settings(), config, read_only=True)
        ids = [_resolve(application, name, ref) for ref in (left, right)]
        manifests = [application.registry().load(version_id)[1] for version_id in ids]
    fields = (
        "trained_end",
        "feature_version",
        "feature_schema_hash",
        "data_start",
        "data_end",
        "symbols",
        "targets",
        "horizons",
    )
    changed = {
        f: [m.get(f) for m in manifests]
        for f in fields
        if manifests[0].get(f) != manifests[1].get(f)
    }
    entries = [model_entries(m) for m in manifests]
    models: dict[str, Any] = {}
    for filename in sorted(set(entries[0]) | set(entries[1])):
        pair = [e.get(filename, {}).get("metrics", {}) for e in entries]
        keys = sorted(set(pair[0]) | set(pair[1]))
        models[filename] = {k: [pair[0].get(k), pair[1].get(k)] for k in keys}
    if as_json:
        print(json.dumps({"versions": ids, "changed": changed, "models": models}, indent=2))
        return
    console = Console()
    for key, (a, b) in changed.items():
        console.print(f"{key}: {a} -> {b}")
    table = Table(title=f"{ids[0]} vs {ids[1]}")
    for column in ("model", "metric", left, right, "delta"):
        table.add_column(column)
    for filename, metrics in models.items():
        for key in ("brier", "auc", "precision_at_entry", "avg_mfe_bps", "avg_mae_bps", "mae"):
            if key in metrics:
                a, b = metrics[key]
                delta = f"{b - a:+.4f}" if a is not None and b is not None else "-"
                table.add_row(
                    filename,
                    key,
                    "-" if a is None else f"{a:.4f}",
                    "-" if b is None else f"{b:.4f}",
                    delta,
                )
    console.print(table)
