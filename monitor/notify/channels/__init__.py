"""The ways a message goes out: e-mail, signed webhook, Telegram; `send` picks by type."""

from models.notification import ChannelType
from monitor.notify.channels import mail, telegram, webhook
from monitor.notify.channels.config import EmailConfig, WebhookConfig, parse_config
from monitor.notify.channels.outgoing import DeliveryError, Outgoing


async def send(
    kind: ChannelType,
    config: dict[str, object],
    secret: str | None,
    message: Outgoing,
    timeout_seconds: float,
) -> None:
    """Deliver `message` once; raises DeliveryError saying why it was not (no secret in it)."""
    parsed = parse_config(kind, config)
    if isinstance(parsed, EmailConfig):
        await mail.send(parsed, secret, message, timeout_seconds)
    elif isinstance(parsed, WebhookConfig):
        await webhook.send(parsed, secret, message, timeout_seconds)
    else:
        await telegram.send(parsed, secret, message, timeout_seconds)


__all__ = ["DeliveryError", "Outgoing", "send"]
