"""The real venues by name (``EXCHANGE_VENUE``): the one place a venue adapter is chosen.

Adding a venue is its adapter (start from ``adapters/_template/venue.py``), one line in
``VENUES`` and its options / credentials in the config. A factory gets the venue
environment (mode, base URL), the credentials and the venue options, and returns an
``Exchange``; it raises ``TradingRefused`` saying what is missing.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from pydantic import SecretStr

from tradeloop.core.errors import ConfigError, TradingRefused
from tradeloop.execution.config import VenuesConfig
from tradeloop.settings import ProviderCredentials, VenueEnvironment
from tradeloop.usecases.paper_trading import LiveVenue

VenueFactory = Callable[[VenueEnvironment, ProviderCredentials, VenuesConfig], LiveVenue]


def _secret(value: SecretStr | None, venue: str, names: str) -> str:
    if value is None:
        raise TradingRefused(
            f"EXCHANGE_VENUE={venue} needs {names} (environment or TRADELOOP_SECRETS_FILE)"
        )
    return value.get_secret_value()


def _alpaca(env: VenueEnvironment, keys: ProviderCredentials, options: VenuesConfig) -> LiveVenue:
    from tradeloop.adapters.venues.alpaca import ENDPOINTS, AlpacaVenue

    names = "ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY"
    key = _secret(keys.alpaca_api_key_id, "alpaca", names)
    secret = _secret(keys.alpaca_api_secret_key, "alpaca", names)
    return AlpacaVenue(env.base_url or ENDPOINTS[env.mode], key, secret)


def _bybit_v5(env: VenueEnvironment, keys: ProviderCredentials, options: VenuesConfig) -> LiveVenue:
    names = "BYBIT_API_KEY and BYBIT_API_SECRET"
    key = _secret(keys.bybit_api_key, "bybit_v5", names)
    secret = _secret(keys.bybit_api_secret, "bybit_v5", names)
    try:
        from tradeloop.adapters.venues.bybit import BybitVenue
    except ImportError:
        raise TradingRefused(
            "EXCHANGE_VENUE=bybit_v5 needs ccxt: pip install 'tradeloop[crypto]'"
        ) from None
    bybit = options.bybit_v5
    return BybitVenue(
        key,
        secret,
        mode=env.mode,
        base_url=env.base_url,
        category=bybit.category,
        settle_coin=bybit.settle_coin,
        symbols=bybit.symbols,
        post_only=bybit.post_only,
        maker_only=bybit.maker_only,
        reduce_only=bybit.reduce_only,
        timeout_s=bybit.timeout_s,
        recv_window_ms=bybit.recv_window_ms,
    )


VENUES: dict[str, VenueFactory] = {
    "alpaca": _alpaca,
    "bybit_v5": _bybit_v5,
}


def live_venue(
    env: VenueEnvironment, keys: ProviderCredentials, options: VenuesConfig
) -> LiveVenue:
    """The venue ``EXCHANGE_VENUE`` names (else ``venues.default_venue``); TradingRefused
    when none is usable."""
    if env.venue is None and options.default_venue is None:
        raise TradingRefused(
            f"live trading needs a venue: set EXCHANGE_VENUE to one of {', '.join(VENUES)} "
            "(and EXCHANGE_MODE=paper for the venue's paper/testnet endpoint, or real)"
        )
    named = env.venue or options.default_venue
    where = "EXCHANGE_VENUE" if env.venue else "venues.default_venue"
    factory = VENUES.get(named or "")
    if factory is None:
        guess = difflib.get_close_matches(named or "", list(VENUES), n=1)
        hint = f"did you mean {guess[0]}? " if guess else ""
        raise ConfigError(
            f"{where}={named!r} is not a venue tradeloop knows. Fix: {hint}"
            f"use one of {', '.join(VENUES)}"
        )
    return factory(env, keys, options)
