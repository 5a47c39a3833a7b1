"""The notification channels by name: the one place a channel adapter is chosen.

Adding a channel is one factory here (it takes the ``notify`` config and the secrets,
checks what it needs and returns a ``Channel``) and its config fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pydantic import SecretStr

from tradeloop.adapters.notify.channels import Channel, EmailChannel, SlackChannel, WebhookChannel
from tradeloop.core.errors import ConfigError
from tradeloop.ops.config import NotifyConfig


class ChannelSecrets(Protocol):
    """The secret parts of the channels (``settings.NotifySecrets``)."""

    @property
    def smtp_password(self) -> SecretStr | None: ...

    @property
    def webhook_url(self) -> SecretStr | None: ...

    @property
    def slack_webhook_url(self) -> SecretStr | None: ...


def _email(config: NotifyConfig, secrets: ChannelSecrets) -> Channel:
    if not config.email_to:
        raise ConfigError("notify: the email channel needs notify.email_to (recipients)")
    password = secrets.smtp_password.get_secret_value() if secrets.smtp_password else None
    if config.smtp_user and password is None:
        raise ConfigError("notify.smtp_user is set: put its password in NOTIFY_SMTP_PASSWORD")
    return EmailChannel(
        host=config.smtp_host,
        port=config.smtp_port,
        sender=config.email_from,
        recipients=config.email_to,
        security=config.smtp_security,
        user=config.smtp_user,
        password=password,
        ca_file=config.smtp_ca_file,
        timeout_s=config.timeout_s,
    )


def _needs(secret: SecretStr | None, name: str, variable: str) -> str:
    if secret is None:
        raise ConfigError(f"notify: the {name} channel needs {variable}")
    return secret.get_secret_value()


def _webhook(config: NotifyConfig, secrets: ChannelSecrets) -> Channel:
    url = _needs(secrets.webhook_url, "webhook", "NOTIFY_WEBHOOK_URL")
    return WebhookChannel(url, config.timeout_s)


def _slack(config: NotifyConfig, secrets: ChannelSecrets) -> Channel:
    url = _needs(secrets.slack_webhook_url, "slack", "NOTIFY_SLACK_WEBHOOK_URL")
    return SlackChannel(url, config.timeout_s)


CHANNELS: dict[str, Callable[[NotifyConfig, ChannelSecrets], Channel]] = {
    "email": _email,
    "webhook": _webhook,
    "slack": _slack,
}


def build_channels(config: NotifyConfig, secrets: ChannelSecrets) -> dict[str, Channel]:
    """The channels the config names, each checked for what it needs."""
    wanted = [*config.channels, *config.failover_channels]
    return {name: CHANNELS[name](config, secrets) for name in dict.fromkeys(wanted)}
