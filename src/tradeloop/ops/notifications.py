"""Send reports and alerts through the configured channels, redacted, with failover.

Every primary channel (``notify.channels``) gets the message; when any of them fails, the
failover channels (``notify.failover_channels``) are tried in order until one delivers, so
a dead mail server still lets the alert out by webhook. Before anything leaves, every
secret this process knows (settings, provider and venue keys, notification secrets, the
database password) and anything shaped like ``password=...`` / ``token: ...`` /
``Bearer ...`` is replaced by ``***``, in the text and in the optional log tails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from tradeloop.adapters.notify.channels import (
    Channel,
    DeliveryFailed,
    EmailChannel,
    Message,
    SlackChannel,
    WebhookChannel,
)
from tradeloop.core.errors import ConfigError
from tradeloop.ops.config import NotifyConfig

SHAPES = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(
        r"(?i)((?:password|passwd|secret|token|api[_-]?key|apikey)[\"']?\s*[=:]\s*[\"']?)"
        r"[^\s\"',;&]+"
    ),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+(@)"),  # user:password@ in URLs
)


@dataclass(slots=True)
class Delivery:
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return bool(self.sent)


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    for shape in SHAPES:
        text = shape.sub(_mask, text)
    return text


def _mask(match: re.Match[str]) -> str:
    return match.group(1) + "***" + (match.group(2) if match.lastindex == 2 else "")


class ChannelSecrets(Protocol):
    """The secret parts of the channels (``settings.NotifySecrets``)."""

    @property
    def smtp_password(self) -> SecretStr | None: ...

    @property
    def webhook_url(self) -> SecretStr | None: ...

    @property
    def slack_webhook_url(self) -> SecretStr | None: ...


def build_channels(config: NotifyConfig, secrets: ChannelSecrets) -> dict[str, Channel]:
    """The channels the config names, each checked for what it needs."""
    wanted = set(config.channels) | set(config.failover_channels)
    made: dict[str, Channel] = {}
    if "email" in wanted:
        if not config.email_to:
            raise ConfigError("notify: the email channel needs notify.email_to (recipients)")
        password = secrets.smtp_password.get_secret_value() if secrets.smtp_password else None
        if config.smtp_user and password is None:
            raise ConfigError("notify.smtp_user is set: put its password in NOTIFY_SMTP_PASSWORD")
        made["email"] = EmailChannel(
            host=config.smtp_host, port=config.smtp_port, sender=config.email_from,
            recipients=config.email_to, security=config.smtp_security, user=config.smtp_user,
            password=password, ca_file=config.smtp_ca_file, timeout_s=config.timeout_s,
        )  # fmt: skip
    http: list[tuple[str, str, SecretStr | None, type[WebhookChannel | SlackChannel]]] = [
        ("webhook", "NOTIFY_WEBHOOK_URL", secrets.webhook_url, WebhookChannel),
        ("slack", "NOTIFY_SLACK_WEBHOOK_URL", secrets.slack_webhook_url, SlackChannel),
    ]
    for name, variable, secret, kind in http:
        if name in wanted:
            if secret is None:
                raise ConfigError(f"notify: the {name} channel needs {variable}")
            made[name] = kind(secret.get_secret_value(), config.timeout_s)
    return made


def log_tails(home: Path, config: NotifyConfig) -> str:
    parts = []
    for relative in config.log_files:
        path = home / relative
        if not path.is_file():
            continue
        lines = path.read_text(errors="replace").splitlines()[-config.log_tail_lines :]
        parts.append(f"--- last {len(lines)} lines of {relative} ---\n" + "\n".join(lines))
    return "\n\n".join(parts)


class Notifier:
    def __init__(
        self,
        config: NotifyConfig,
        channels: dict[str, Channel],
        secrets: Sequence[str],
        *,
        home: Path | None = None,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.config = config
        self.channels = channels
        self.secrets = list(secrets)
        self.home = home
        self.log = log

    @property
    def enabled(self) -> bool:
        return bool(self.config.channels)

    def send(self, message: Message) -> Delivery:
        text = message.text
        if self.config.include_log_tails and self.home is not None:
            tails = log_tails(self.home, self.config)
            if tails:
                text = f"{text}\n\n{tails}"
        clean = Message(
            title=redact(message.title, self.secrets),
            text=redact(text, self.secrets),
            state=message.state,
            source=message.source,
            ts=message.ts,
        )
        delivery = Delivery()
        for name in self.config.channels:
            self._try(name, clean, delivery)
        if delivery.failed:
            for name in self.config.failover_channels:
                if name in delivery.sent:
                    continue
                if self._try(name, clean, delivery):
                    break
        return delivery

    def _try(self, name: str, message: Message, delivery: Delivery) -> bool:
        try:
            self.channels[name].send(message)
        except DeliveryFailed as exc:
            reason = redact(str(exc), self.secrets)
            delivery.failed[name] = reason
            self.log(f"notify: {name} failed: {reason}")
            return False
        delivery.sent.append(name)
        return True
