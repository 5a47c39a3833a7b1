"""Exit codes and the one-line error output shared by every command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from tradeloop.core.errors import OperatorError, RetryableError

EXIT_OK = 0
EXIT_FAILED = 1  # ran, but the outcome is not what was asked (e.g. gate refused)
EXIT_OPERATOR = 2  # bad input or configuration: fix and retry
EXIT_RETRY = 3  # transient failure: retry later

T = TypeVar("T")


@contextmanager
def handled_errors() -> Iterator[None]:
    """Turn tradeloop errors into one clear stderr line and a meaningful exit code."""
    try:
        yield
    except OperatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_OPERATOR) from None
    except RetryableError as exc:
        print(f"error (transient, retry later): {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_RETRY) from None


def run_handled(action: Callable[[], T]) -> T:
    with handled_errors():
        return action()
