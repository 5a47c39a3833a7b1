"""``python -m tradeloop.services.ai_scorer``: candidates -> scored
(``--help`` for the options)."""

from __future__ import annotations

from tradeloop.services._run import main

if __name__ == "__main__":
    raise SystemExit(main("ai_scorer"))
