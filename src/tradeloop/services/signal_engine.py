"""``python -m tradeloop.services.signal_engine``: market data -> candidates
(``--help`` for the options)."""

from __future__ import annotations

from tradeloop.services._run import main

if __name__ == "__main__":
    raise SystemExit(main("signal_engine"))
