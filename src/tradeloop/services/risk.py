"""``python -m tradeloop.services.risk``: scored -> sig:approved or a drop; data health
(``--help`` for the options)."""

from __future__ import annotations

from tradeloop.services._run import main

if __name__ == "__main__":
    raise SystemExit(main("risk"))
