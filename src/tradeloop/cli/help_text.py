"""How commands read in ``--help``: one line each in the command list, grouped in panels,
no reST markup, and flags without a type placeholder.

Docstrings are written for the code (reST backticks, a first paragraph over several
lines); the help a person reads is derived from them here, once, for every command.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperOption

_BACKTICKS = re.compile(r"`{1,2}([^`]+)`{1,2}")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]])\.(\s|$)")
_BREAKS = ("; ", ", ", " (", " -> ", ": ")
WIDTH = 62  # a summary fits one line of an 80-column terminal beside a command name


def plain(text: str) -> str:
    """``code`` and `code` shown as code, without the backticks."""
    return _BACKTICKS.sub(r"\1", text)


def one_line(doc: str | None) -> str:
    """The first sentence of the first paragraph on one line; a long one cut at the last
    clause that fits, with an ellipsis."""
    if not doc:
        return ""
    first = plain(" ".join(inspect.cleandoc(doc).split("\n\n")[0].split()))
    match = _SENTENCE_END.search(first)
    sentence = first[: match.start() + 1] if match else first
    if len(sentence) <= WIDTH:
        return sentence
    cut = max(sentence.rfind(mark, 0, WIDTH) for mark in _BREAKS)
    if cut <= WIDTH // 3:
        cut = sentence.rfind(" ", 0, WIDTH)  # no clause fits: the last whole word
    return sentence[:cut].rstrip(" .,;:") + "…"


def command_help(doc: str | None) -> str | None:
    """The docstring as help: prose paragraphs joined into one line each, so the terminal
    wraps them once (a docstring's own line breaks would make ragged lines); indented
    examples and lists keep their lines."""
    if not doc:
        return None
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return plain("\n\n".join(_reflowed(p) for p in paragraphs))


def _reflowed(paragraph: str) -> str:
    lines = paragraph.splitlines()
    if any(line.startswith((" ", "- ", "* ")) for line in lines):
        return paragraph
    return " ".join(line.strip() for line in lines)


def tidy(app: typer.Typer, panel: str | None = None) -> None:
    """Every command of ``app`` (and its groups): a one-line summary in lists, its help
    without backticks, and ``panel`` in the parent's list when given."""
    for info in app.registered_commands:
        doc = info.help or (info.callback.__doc__ if info.callback else None)
        info.help = command_help(doc)
        info.short_help = info.short_help or one_line(doc)
        if panel is not None:
            info.rich_help_panel = panel
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        doc = group.help or sub.info.help
        if isinstance(doc, str):
            group.help = command_help(doc)
            group.short_help = group.short_help or one_line(doc)
        if panel is not None:
            group.rich_help_panel = panel
        tidy(sub)


def _no_flag_placeholder(original: Callable[..., Any]) -> Callable[..., Any]:
    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else original(self, ctx)

    return display_type_rich


# Typer prints a type after every option, "<bool>" after a flag too, which takes no value:
# a flag shows none (the one change to Typer's rendering we make).
TyperOption.display_type_rich = _no_flag_placeholder(TyperOption.display_type_rich)  # type: ignore[method-assign]
