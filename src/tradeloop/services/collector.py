"""``python -m tradeloop.services.collector``: market data onto the md stream
(``--help`` for the options)."""

from __future__ import annotations

from tradeloop.services._run import main

if __name__ == "__main__":
    raise SystemExit(main("collector"))
