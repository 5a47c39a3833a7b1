"""tradeloop: the whole loop of an ML-driven trading desk on one machine."""

__version__ = "0.1.0"
