# ruff: noqa: E402  (imports of the optional module follow its check)
"""Notifications delivered for real: a local SMTP server (aiosmtpd, STARTTLS / TLS with
login) and a local HTTP receiver; a failing primary falls over; no secret ever leaves."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tradeloop.testing.services import optional_module

optional_module("aiosmtpd", "notification tests need aiosmtpd (the dev extra)")

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tradeloop.adapters.notify.channels import Message
from tradeloop.bootstrap.notifiers import build_channels
from tradeloop.ops.config import NotifyConfig
from tradeloop.settings import NotifySecrets
from tradeloop.usecases.notifications import Notifier, redact

SMTP_PASSWORD = "smtp-pa55-Word"
HOOK = "/hooks/T000-secret-token-123"


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    LOOPBACK = ipaddress.ip_address("127.0.0.1")  # noqa: N806
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == b"desk"
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.fixture
def smtp_starttls(tls: tuple[Path, ssl.SSLContext]) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls[1],
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    yield inbox, port
    controller.stop()


class Receiver:
    """A local HTTP endpoint that records JSON posts; ``fail`` answers 500."""

    def __init__(self, fail: bool = False) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.posts.append((self.path, body))
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{HOOK}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _notifier(config: NotifyConfig, secrets: NotifySecrets, home: Path | None = None) -> Notifier:
    known = [
        SMTP_PASSWORD,
        *(
            s.get_secret_value()
            for s in (secrets.webhook_url, secrets.slack_webhook_url)
            if s is not None
        ),
    ]
    return Notifier(config, build_channels(config, secrets), known, home=home)


LEAKY = (
    f"report body. smtp password {SMTP_PASSWORD}; db postgresql://desk:dbpass99@db:5432/x; "
    "header Authorization: Bearer abcdef123456; api_key=AKIA-XYZ-987"
)


def _assert_clean(text: str, *secrets: str) -> None:
    for secret in (SMTP_PASSWORD, "dbpass99", "abcdef123456", "AKIA-XYZ-987", HOOK, *secrets):
        assert secret not in text


def test_email_via_starttls_with_login_is_delivered_redacted(
    smtp_starttls: tuple[Inbox, int], tls: tuple[Path, ssl.SSLContext]
) -> None:
    inbox, port = smtp_starttls
    config = NotifyConfig(
        channels=("email",),
        email_to=("ops@example.com",),
        smtp_port=port,
        smtp_user="desk",
        smtp_ca_file=str(tls[0]),
    )
    secrets = NotifySecrets(smtp_password=SMTP_PASSWORD)  # type: ignore[arg-type]
    delivery = _notifier(config, secrets).send(Message("ML daily: healthy", LEAKY))
    assert delivery.sent == ["email"], delivery.failed
    [mail] = inbox.messages
    assert mail["Subject"] == "ML daily: healthy"
    body = mail.get_payload()
    assert "report body" in body
    _assert_clean(body)


def test_email_with_wrong_password_then_failed_and_reason_has_no_secret(
    smtp_starttls: tuple[Inbox, int], tls: tuple[Path, ssl.SSLContext], receiver: Receiver
) -> None:
    inbox, port = smtp_starttls
    config = NotifyConfig(
        channels=("email",),
        failover_channels=("webhook",),
        email_to=("ops@example.com",),
        smtp_port=port,
        smtp_user="desk",
        smtp_ca_file=str(tls[0]),
    )
    secrets = NotifySecrets(smtp_password="wrong-one", webhook_url=receiver.url)  # type: ignore[arg-type]
    delivery = _notifier(config, secrets).send(Message("alert", "drill failed"))
    assert "email" in delivery.failed
    assert "wrong-one" not in delivery.failed["email"]
    assert delivery.sent == ["webhook"]  # the failover carried it
    assert inbox.messages == []


def test_email_via_implicit_tls(tls: tuple[Path, ssl.SSLContext]) -> None:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=tls[1])
    controller.start()
    try:
        config = NotifyConfig(
            channels=("email",),
            email_to=("ops@example.com",),
            smtp_port=port,
            smtp_security="tls",
            smtp_ca_file=str(tls[0]),
        )
        delivery = _notifier(config, NotifySecrets()).send(Message("t", "over TLS"))
    finally:
        controller.stop()
    assert delivery.sent == ["email"], delivery.failed
    assert len(inbox.messages) == 1


def test_email_when_certificate_untrusted_then_refused(
    smtp_starttls: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_starttls
    config = NotifyConfig(channels=("email",), email_to=("ops@example.com",), smtp_port=port)
    delivery = _notifier(config, NotifySecrets()).send(Message("t", "x"))
    assert "email" in delivery.failed
    assert "SSL" in delivery.failed["email"] or "certificate" in delivery.failed["email"].lower()
    assert inbox.messages == []


def test_webhook_and_slack_formats_and_no_secret_in_them(receiver: Receiver) -> None:
    slack = Receiver()
    try:
        config = NotifyConfig(channels=("webhook", "slack"))
        secrets = NotifySecrets(webhook_url=receiver.url, slack_webhook_url=slack.url)  # type: ignore[arg-type]
        delivery = _notifier(config, secrets).send(
            Message("ML daily: kill-switch", LEAKY + " see " + receiver.url, state="kill-switch")
        )
    finally:
        slack.close()
    assert delivery.sent == ["webhook", "slack"]
    [(path, body)] = receiver.posts
    assert path == HOOK
    assert set(body) == {"title", "text", "state", "source", "ts"}
    assert body["state"] == "kill-switch"
    _assert_clean(json.dumps(body), receiver.url)
    [(_, posted)] = slack.posts
    assert list(posted) == ["text"]
    assert posted["text"].startswith("*ML daily: kill-switch*\n")
    _assert_clean(posted["text"])


def test_failing_primary_then_failover_in_order_until_one_delivers(receiver: Receiver) -> None:
    broken = Receiver(fail=True)
    try:
        config = NotifyConfig(
            channels=("slack",),
            failover_channels=("email", "webhook"),
            email_to=("ops@example.com",),
            smtp_port=_free_port(),
            timeout_s=2,
        )
        secrets = NotifySecrets(slack_webhook_url=broken.url, webhook_url=receiver.url)  # type: ignore[arg-type]
        delivery = _notifier(config, secrets).send(Message("alert", "restore drill failed"))
    finally:
        broken.close()
    assert delivery.sent == ["webhook"]
    assert set(delivery.failed) == {"slack", "email"}  # email: nothing listens on its port
    assert "HTTP 500" in delivery.failed["slack"]
    assert HOOK not in delivery.failed["slack"]
    assert len(receiver.posts) == 1


def test_log_tails_are_appended_redacted(receiver: Receiver, tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    lines = [f'{{"n": {i}, "error": "token=tok{i}secret"}}' for i in range(30)]
    (tmp_path / "logs" / "errors.jsonl").write_text("\n".join(lines) + "\n")
    config = NotifyConfig(channels=("webhook",), include_log_tails=True, log_tail_lines=5)
    secrets = NotifySecrets(webhook_url=receiver.url)  # type: ignore[arg-type]
    _notifier(config, secrets, home=tmp_path).send(Message("t", "body"))
    [(_, body)] = receiver.posts
    assert "last 5 lines of logs/errors.jsonl" in body["text"]
    assert '"n": 29' in body["text"]
    assert '"n": 24' not in body["text"]
    assert "secret" not in body["text"]


def test_channel_missing_what_it_needs_then_config_error() -> None:
    from tradeloop.core.errors import ConfigError

    with pytest.raises(ConfigError, match="NOTIFY_WEBHOOK_URL"):
        build_channels(NotifyConfig(channels=("webhook",)), NotifySecrets())
    with pytest.raises(ConfigError, match="email_to"):
        build_channels(NotifyConfig(channels=("email",)), NotifySecrets())
    with pytest.raises(ConfigError, match="NOTIFY_SMTP_PASSWORD"):
        build_channels(
            NotifyConfig(channels=("email",), email_to=("a@b",), smtp_user="u"), NotifySecrets()
        )


def test_redact_shapes() -> None:
    assert redact("password: hunter22 and Bearer abcdefgh1", []) == "password: *** and Bearer ***"
    assert redact("postgresql://u:p4ss@h/db", []) == "postgresql://u:***@h/db"
    assert redact("my key is K3Y-VALUE", ["K3Y-VALUE"]) == "my key is ***"
