"""tradeloop: the whole loop of an ML-driven trading desk on one machine.

What a strategy author needs is importable from here (loaded on first use, so that
``import tradeloop`` stays light for the CLI)::

    from tradeloop import BarView, Side, Strategy, StrategyContext, make_order
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it: the public surface for strategy authors.
_PUBLIC = {
    "BarView": "tradeloop.execution.bar_view",
    "OrderType": "tradeloop.domain.enums",
    "Side": "tradeloop.domain.enums",
    "Strategy": "tradeloop.execution.strategy",
    "StrategyContext": "tradeloop.execution.strategy",
    "SubmitOrder": "tradeloop.domain.orders",
    "TimeInForce": "tradeloop.domain.enums",
    "make_order": "tradeloop.execution.strategy",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'tradeloop' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
