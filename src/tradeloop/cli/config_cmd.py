"""``tradeloop config``: show the effective configuration, validate a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.syntax import Syntax

from tradeloop.cli.errors import handled_errors

REDACTED = "***"

app = typer.Typer(
    help="Show, validate or start a configuration.\n\nExamples:\n\n"
    "  tradeloop config show\n\n  tradeloop config show --json\n\n"
    "  tradeloop config validate config/tradeloop.example.yaml\n\n"
    "  tradeloop config example > tradeloop.yaml",
    no_args_is_help=True,
)


def _effective(config_path: Path | None) -> dict[str, Any]:
    from tradeloop.bootstrap.app import load_app_config, profile_report
    from tradeloop.bootstrap.database import database_url, redact_url
    from tradeloop.settings import load_settings

    settings = load_settings()
    config, source = load_app_config(config_path or settings.config, settings.profile)
    return {
        "source": source,
        "environment": {
            "home": str(settings.home),
            "config": str(settings.config) if settings.config else None,
            "db_url": redact_url(database_url(settings)),
            "redis_url": redact_url(settings.redis_url.get_secret_value())
            if settings.redis_url
            else None,
            "api_token": REDACTED if settings.api_token else None,
            "log_level": settings.log_level,
        },
        "profile": profile_report(config),
        "config": config.model_dump(mode="json"),
    }


@app.command("show")
def show(
    config: Annotated[
        Path | None, typer.Option(help="config file (default ./tradeloop.yaml)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Print the effective configuration with secrets redacted."""
    with handled_errors():
        effective = _effective(config)
    if as_json:
        print(json.dumps(effective, indent=2))
        return
    import yaml

    Console().print(Syntax(yaml.safe_dump(effective, sort_keys=False), "yaml"))


@app.command("validate")
def validate(file: Annotated[Path, typer.Argument(help="YAML config file to check")]) -> None:
    """Check a config file; exit 2 with the key path, value and fix when it is wrong."""
    from tradeloop.bootstrap.app import load_app_config

    with handled_errors():
        load_app_config(file, environ={})  # the file (and its profile:) alone
    print(f"{file}: OK")


@app.command("example")
def example() -> None:
    """Print a documented config with every key at its default (start a tradeloop.yaml)."""
    from tradeloop.bootstrap.app import example_config_text

    print(example_config_text(), end="")
