"""The live venue table: the venue EXCHANGE_VENUE names, built with its credentials, or a
refusal that names what is missing; never a half-configured venue."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tradeloop.adapters.venues.alpaca import AlpacaVenue
from tradeloop.bootstrap.venues import VENUES, live_venue
from tradeloop.core.errors import TradingRefused
from tradeloop.execution.config import VenuesConfig
from tradeloop.settings import ProviderCredentials, VenueEnvironment


def _credentials(**keys: str) -> ProviderCredentials:
    return ProviderCredentials(
        _env_file=None,  # type: ignore[call-arg]
        **{name: SecretStr(value) for name, value in keys.items()},
    )


def test_live_venue_when_none_named_then_refused_listing_every_venue() -> None:
    with pytest.raises(TradingRefused) as refused:
        live_venue(VenueEnvironment(venue=None), _credentials(), VenuesConfig())
    for name in VENUES:
        assert name in str(refused.value)


@pytest.mark.parametrize(
    ("venue", "needs"),
    [("alpaca", "ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY"), ("bybit_v5", "BYBIT_API_KEY")],
)
def test_live_venue_when_credentials_missing_then_refused_naming_them(
    venue: str, needs: str
) -> None:
    with pytest.raises(TradingRefused, match=needs):
        live_venue(VenueEnvironment(venue=venue), _credentials(), VenuesConfig())


def test_live_venue_when_alpaca_credentialed_then_that_venue_on_the_chosen_endpoint() -> None:
    environment = VenueEnvironment(venue="alpaca", mode="paper", base_url="http://127.0.0.1:9")
    keys = _credentials(alpaca_api_key_id="key-id-123", alpaca_api_secret_key="s3cret-value")
    venue = live_venue(environment, keys, VenuesConfig())
    assert isinstance(venue, AlpacaVenue)
    assert "s3cret-value" not in repr(venue)


def test_live_venue_when_name_unknown_then_config_error_with_the_closest_name() -> None:
    from tradeloop.core.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean alpaca"):
        live_venue(VenueEnvironment(venue="alpacca"), _credentials(), VenuesConfig())


def test_live_venue_when_unnamed_but_config_has_a_default_then_that_venue() -> None:
    # the scalper profile's venues.default_venue: bybit_v5 stands in for EXCHANGE_VENUE
    options = VenuesConfig(default_venue="alpaca")
    keys = _credentials(alpaca_api_key_id="key-id-123", alpaca_api_secret_key="s3cret-value")
    venue = live_venue(VenueEnvironment(venue=None, base_url="http://127.0.0.1:9"), keys, options)
    assert isinstance(venue, AlpacaVenue)


def test_live_venue_when_default_venue_unknown_then_error_names_the_config_key() -> None:
    from tradeloop.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"venues\.default_venue='alpacca'"):
        live_venue(
            VenueEnvironment(venue=None), _credentials(), VenuesConfig(default_venue="alpacca")
        )
