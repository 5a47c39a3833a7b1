"""The bar sizes the trading commands take (``--interval``), in seconds."""

INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "1d": 86_400}
