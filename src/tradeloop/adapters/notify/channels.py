"""Where a notification goes. Each channel sends one ``Message`` or raises
``DeliveryFailed`` saying why (never with a credential in the text).

- ``EmailChannel``: SMTP with STARTTLS (port 587), implicit TLS (465) or none (a local
  relay), optional login; certificates verified (``ca_file`` for a private CA).
- ``WebhookChannel``: ``POST`` of ``{"title", "text", "state", "source", "ts"}`` as JSON.
- ``SlackChannel``: Slack's incoming-webhook format, ``{"text": "*title*\\n..."}``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    text: str
    state: str = ""  # e.g. a report's health state
    source: str = "tradeloop"
    ts: str = ""


class DeliveryFailed(Exception):
    """The channel could not deliver; the text says why."""


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class EmailChannel:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: tuple[str, ...],
        security: str = "starttls",
        user: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not recipients:
            raise ValueError("email channel: notify.email_to lists no recipient")
        self._host, self._port, self._sender, self._to = host, port, sender, recipients
        self._security, self._user, self._password = security, user, password
        self._ca_file, self._timeout = ca_file, timeout_s

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self._sender
        mail["To"] = ", ".join(self._to)
        mail.set_content(message.text)
        context = ssl.create_default_context(cafile=self._ca_file)
        try:
            if self._security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self._timeout, context=context
                )
            else:
                client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            with client:
                if self._security == "starttls":
                    client.starttls(context=context)
                if self._user:
                    client.login(self._user, self._password or "")
                client.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"email via {self._host}:{self._port} ({self._security}): "
                f"{type(exc).__name__}: {_first_line(exc)}"
            ) from None


class _HttpChannel:
    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout_s

    def _post(self, payload: dict[str, str]) -> None:
        where = httpx.URL(self._url)
        shown = f"{where.scheme}://{where.host}:{where.port or ''}"  # never the path (a token)
        try:
            response = httpx.post(self._url, json=payload, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{self.name} {shown}: {type(exc).__name__}") from None
        if not response.is_success:
            raise DeliveryFailed(f"{self.name} {shown}: HTTP {response.status_code}")


class WebhookChannel(_HttpChannel):
    name = "webhook"

    def send(self, message: Message) -> None:
        self._post(
            {
                "title": message.title,
                "text": message.text,
                "state": message.state,
                "source": message.source,
                "ts": message.ts,
            }
        )


class SlackChannel(_HttpChannel):
    name = "slack"

    def send(self, message: Message) -> None:
        self._post({"text": f"*{message.title}*\n{message.text}"})


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]
