"""A seeded synthetic market: any symbol, daily or intraday, deterministic per (seed, symbol)."""

from tradeloop.adapters.synthetic.provider import SyntheticProvider

__all__ = ["SyntheticProvider"]
