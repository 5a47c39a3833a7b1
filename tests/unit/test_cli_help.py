"""``--help`` as a newcomer reads it: commands grouped in panels, one line each, no reST
backticks, no type placeholder after a flag, on every help page."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from tradeloop.cli.main import app

PANELS = ("Getting started", "Data", "Events", "Models", "Trading", "Risk & control")


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "80"}, color=False)
    assert result.exit_code == 0, result.output
    return result.output


def _pages() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    pages: list[tuple[str, ...]] = [()]
    for name, command in getattr(root, "commands", {}).items():
        pages.append((name,))
        pages += [(name, sub) for sub in getattr(command, "commands", {})]
    return pages


def test_top_help_when_read_then_commands_grouped_in_panels_one_line_each() -> None:
    text = _help()
    for panel in (*PANELS, "Operations"):
        assert f"─ {panel} ─" in text
    listed = [line for line in text.splitlines() if re.match(r"│ [a-z][a-z-]+ +\S", line)]
    assert len(listed) >= 30
    rows = text.split("─ Getting started ─", 1)[1].splitlines()
    wrapped = [r for r in rows if re.match(r"│ {10,}\S", r)]  # a summary's second line
    assert wrapped == []


@pytest.mark.parametrize("page", _pages(), ids=lambda p: " ".join(p) or "tradeloop")
def test_help_page_when_read_then_no_backticks_and_no_flag_placeholder(
    page: tuple[str, ...],
) -> None:
    text = _help(*page)
    assert "`" not in text
    assert "<bool>" not in text


def test_state_commands_when_asked_for_json_then_each_offers_it() -> None:
    """Every command that prints state has --json (halt and db status among them)."""
    for page in (("halt",), ("resume",), ("status",), ("db", "status"), ("models", "list")):
        assert "--json" in _help(*page), page


def test_help_prose_when_wider_terminal_then_wrapped_once_not_at_the_docstring_breaks() -> None:
    # the ingest docstring breaks "Exit codes ... 2 bad input," / "3 no provider ..." in
    # the source; at 100 columns the terminal must wrap the paragraph, not the source
    result = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "100"}, color=False)
    lines = [line.strip() for line in result.output.splitlines()]
    assert any("2 bad input, 3 no" in line for line in lines), result.output
    # indented examples keep a line each
    assert "tradeloop ingest --offline       # a machine without the internet" in lines
