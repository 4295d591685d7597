"""Real receivers of notifications on loopback: a webhook endpoint that checks signatures and
counts deliveries by id, a stand-in for Telegram's Bot API, an SMTP server (aiosmtpd)."""

import asyncio
import email
import email.policy
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.base import utcnow
from tests.probing import serving
from tests.service import free_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class WebhookReceiver:
    """Answers 500 to the first `fail_first` deliveries; holds a delivery while `hold` is set
    (for a test that kills the sender mid-delivery)."""

    fail_first: int = 0
    deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)
    bad_signatures: int = 0

    @property
    def unique(self) -> dict[str, dict[str, Any]]:
        """What a receiver that drops repeats by webhook-id keeps."""
        return dict(self.deliveries)

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = Webhook(SECRET).verify(body, dict(request.headers))
        except Exception:
            self.bad_signatures += 1
            return Response(status_code=400)
        self.deliveries.append((request.headers["webhook-id"], payload))
        if self.hold is not None:
            await self.released.wait()
            return Response(status_code=204)
        if len(self.deliveries) <= self.fail_first:
            return Response(status_code=500)
        return Response(status_code=204)


@dataclass
class BotApi:
    """Telegram's Bot API as far as sendMessage goes."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (token, body)

    async def send_message(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.messages.append((request.path_params["token"], body))
        return JSONResponse({"ok": True, "result": {"message_id": len(self.messages)}})


@asynccontextmanager
async def webhook_server(receiver: WebhookReceiver) -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    async with serving(app) as base:
        yield f"{base}/hook"


@asynccontextmanager
async def bot_api_server(api: BotApi) -> AsyncIterator[str]:
    routes = [Route("/bot{token}/sendMessage", api.send_message, methods=["POST"])]
    async with serving(Starlette(routes=routes)) as base:
        yield base


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@asynccontextmanager
async def smtp_server(mailbox: Mailbox, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """aiosmtpd on a loopback port (its own thread), accepting UTF-8 mail; with `tls`, only
    after STARTTLS."""
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        enable_SMTPUTF8=True,
        tls_context=tls,
        require_starttls=tls is not None,
    )
    await asyncio.to_thread(controller.start)
    try:
        yield port
    finally:
        await asyncio.to_thread(controller.stop)


def loopback_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a self-signed certificate, and the certificate's
    file for a client to trust (as a closed network's own CA would be)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
