"""Guards used by domain values to fail fast with the offending value in the message."""

from __future__ import annotations

import math
from decimal import Decimal


def require_finite(name: str, value: float | Decimal) -> None:
    """Raise ValueError unless ``value`` is a finite number."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be finite, got {value}")
    elif not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")


def require_positive(name: str, value: float | Decimal) -> None:
    """Raise ValueError unless ``value`` is finite and greater than zero."""
    require_finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def require_non_negative(name: str, value: float | Decimal) -> None:
    """Raise ValueError unless ``value`` is finite and at least zero."""
    require_finite(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def require_symbol(symbol: str) -> None:
    """Raise ValueError unless ``symbol`` is a non-empty, space-free string."""
    if not symbol or symbol != symbol.strip() or " " in symbol:
        raise ValueError(f"symbol must be a non-empty string without spaces, got {symbol!r}")
