"""Telegram through the Bot API's sendMessage; the API's address is the channel's (a local Bot
API server on a closed network). The bot token is part of the URL: it never reaches a log or an
error, which are phrased here."""

import httpx

from monitor.notify.channels.config import TelegramConfig
from monitor.notify.channels.outgoing import DeliveryError, Outgoing

MAX_TEXT = 4096  # the Bot API's limit for one message


async def send(
    config: TelegramConfig, token: str | None, message: Outgoing, timeout_seconds: float
) -> None:
    if not token:
        raise DeliveryError("the Telegram channel has no bot token")
    url = f"{config.api_base_url}/bot{token}/sendMessage"
    body = {
        "chat_id": config.chat_id,
        "text": message.text[:MAX_TEXT],
        "disable_web_page_preview": True,
    }
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client:
            response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"Bot API not reached: {type(exc).__name__}") from None
    if not response.is_success:
        raise DeliveryError(
            f"Bot API answered HTTP {response.status_code}: {_description(response)}"
        )


def _description(response: httpx.Response) -> str:
    try:
        return str(response.json().get("description", ""))[:200]
    except ValueError:
        return ""
