"""``python -m tradeloop.services.executor``: sig:approved -> one order per signal
(``--help`` for the options)."""

from __future__ import annotations

from tradeloop.services._run import main

if __name__ == "__main__":
    raise SystemExit(main("executor"))
