"""Symbol lists given on the command line (``--tickers SPY,AAPL``), parsed one way."""

from __future__ import annotations

from tradeloop.core.errors import ConfigError


def parse_symbols(text: str, option: str = "--tickers") -> tuple[str, ...]:
    """The comma-separated symbols of ``text``, in order, without repeats; ConfigError when
    none is given (an empty list must never widen to "every symbol")."""
    symbols = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not symbols:
        raise ConfigError(
            f"{option} {text!r}: no symbol given. Fix: name at least one, e.g. {option} SPY,AAPL "
            f"(leave {option} out to use them all where a command allows it)"
        )
    return symbols
