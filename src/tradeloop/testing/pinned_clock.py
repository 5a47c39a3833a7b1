"""Run the ``tradeloop`` CLI with its wall clock pinned, for tests of wall-clock commands.

A daemon, a collector or a scheduler reads the time of day; a test that runs one as a real
process must not depend on the day or hour the suite runs. This starts the CLI with the
clock set to a fixed instant that then ticks on (time-machine, a dev dependency); the
monotonic clock that paces loops is left alone::

    python -m tradeloop.testing.pinned_clock 2026-06-03T18:00:00Z daemon --tickers SPY

The instant is an ISO-8601 datetime with a UTC offset (``Z`` accepted).
"""

from __future__ import annotations

import sys
from datetime import datetime


def main(argv: list[str]) -> None:
    """Pin the clock at ``argv[0]`` and run the CLI with the rest of ``argv``."""
    if not argv:
        raise SystemExit("usage: python -m tradeloop.testing.pinned_clock <ISO instant> <args>")
    instant = datetime.fromisoformat(argv[0].replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise SystemExit(f"{argv[0]!r}: give the instant with its UTC offset, e.g. ...T18:00:00Z")
    import time_machine

    from tradeloop.cli.main import app

    with time_machine.travel(instant, tick=True):
        app(args=argv[1:], prog_name="tradeloop")


if __name__ == "__main__":
    main(sys.argv[1:])
