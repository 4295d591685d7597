"""A test message through a channel, sent at once (not through the outbox): an operator who
just set a channel up sees whether it works, and why not."""

import uuid
from dataclasses import dataclass

from pydantic import ValidationError

from models.notification import NotificationChannel
from monitor.notify import channels, secrets

TEXT = {
    "vi": "BridgeWatch: tin nhắn thử của kênh {name}. Kênh hoạt động tốt.",
    "en": "BridgeWatch: a test message of the channel {name}. The channel works.",
}


@dataclass(frozen=True)
class TrialResult:
    delivery_id: str
    error: str | None  # None: delivered


async def send_trial(
    channel: NotificationChannel,
    box: secrets.SecretBox,
    timeout_seconds: float,
    language: str = "vi",
) -> TrialResult:
    text = TEXT.get(language, TEXT["vi"]).format(name=channel.name)
    message = channels.Outgoing(
        delivery_id=f"test_{uuid.uuid4().hex}",
        subject=text.split(":")[0] + ": " + ("tin nhắn thử" if language == "vi" else "test"),
        text=text,
        payload={"type": "bridgewatch.test", "text": text},
    )
    try:
        secret = secrets.read(box, channel.secret_encrypted, channel.secret_env)
        await channels.send(channel.type, channel.config, secret, message, timeout_seconds)
    except (channels.DeliveryError, secrets.SecretError) as exc:
        return TrialResult(message.delivery_id, str(exc))
    except ValidationError:
        return TrialResult(message.delivery_id, "the channel's stored settings are not valid")
    return TrialResult(message.delivery_id, None)
