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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tradeloop.adapters.notify.channels import Channel, DeliveryFailed, Message
from tradeloop.core.time import iso_from_ns
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


def send_report(notifier: Notifier, title: str, text: str, state: str = "") -> Delivery | None:
    """Send ``text`` if notifications are configured (None when they are not)."""
    if not notifier.enabled:
        return None
    return notifier.send(
        Message(title=title, text=text, state=state, ts=iso_from_ns(time.time_ns()))
    )
