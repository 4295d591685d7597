"""E-mail through an SMTP server, with STARTTLS or TLS, in UTF-8 (Vietnamese intact)."""

import email.policy
from email.message import EmailMessage

import aiosmtplib

from monitor.notify.channels.config import EmailConfig
from monitor.notify.channels.outgoing import DeliveryError, Outgoing

# Python's header folding at 78 columns can cut a line between two encoded words at a space, and
# readers drop the space ("kết nối" arrives as "kếtnối"); unfolded up to RFC 5322's 998 octets
# (a subject is at most 300 characters), the Vietnamese subject arrives intact.
WIRE = email.policy.SMTP.clone(max_line_length=998)


def email_of(config: EmailConfig, message: Outgoing) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config.sender
    email["To"] = ", ".join(config.recipients)
    email["Subject"] = message.subject
    # The delivery id as the Message-ID: a mail system may drop a repeat of the same message.
    email["Message-ID"] = f"<{message.delivery_id}@bridgewatch>"
    email.set_content(message.text, charset="utf-8")
    return email


async def send(
    config: EmailConfig, password: str | None, message: Outgoing, timeout_seconds: float
) -> None:
    try:
        await aiosmtplib.send(
            email_of(config, message).as_bytes(policy=WIRE),
            sender=config.sender,
            recipients=config.recipients,
            hostname=config.host,
            port=config.port,
            username=config.username if password else None,
            password=password,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            cert_bundle=config.ca_file,
            timeout=timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise DeliveryError(f"e-mail not sent: {type(exc).__name__}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    # SMTP replies never carry the password; the server's words help ("mailbox unavailable").
    return str(exc)[:200]
