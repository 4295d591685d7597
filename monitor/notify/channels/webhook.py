"""Signed JSON webhooks in the manner of the Standard Webhooks specification: `webhook-id` (the
message's delivery id, the same at every attempt), `webhook-timestamp` and `webhook-signature`
(HMAC-SHA256 of id.timestamp.body with the channel's secret, "whsec_" + base64)."""

import json

import httpx
from standardwebhooks.webhooks import Webhook

from models.base import utcnow
from monitor.notify.channels.config import WebhookConfig
from monitor.notify.channels.outgoing import DeliveryError, Outgoing


def check_secret(secret: str) -> None:
    """Raises ValueError unless `secret` is one the specification's libraries can sign with."""
    try:
        Webhook(secret)
    except Exception as exc:
        raise ValueError("a webhook secret is 'whsec_' and base64 of random bytes") from exc


async def send(
    config: WebhookConfig, secret: str | None, message: Outgoing, timeout_seconds: float
) -> None:
    if not secret:
        raise DeliveryError("the webhook channel has no secret to sign with")
    now = utcnow()
    body = json.dumps(
        {
            "type": message.payload.get("type", "bridgewatch.message"),
            "timestamp": now.isoformat(),
            "data": {**message.payload, "text": message.text},
        },
        ensure_ascii=False,
    )
    headers = {
        "content-type": "application/json; charset=utf-8",
        "webhook-id": message.delivery_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message.delivery_id, now, body),
    }
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client:
            response = await client.post(config.url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook not reached: {type(exc).__name__}") from None
    if not response.is_success:
        raise DeliveryError(f"webhook answered HTTP {response.status_code}")
