"""Real market history that ships inside PyPI packages (arch, backtesting.py)."""

from tradeloop.adapters.bundled.provider import BUNDLED_DATASETS, BundledDataset, BundledProvider

__all__ = ["BUNDLED_DATASETS", "BundledDataset", "BundledProvider"]
