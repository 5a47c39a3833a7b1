"""HTTP APIs on plain ASGI: the control API (``tradeloop serve api``)."""
