"""Notification channels and rules through the API: admins make them, secrets go in and never
come out, a test message goes through a real receiver, and every mistake is a 4xx problem with
nothing saved."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from sqlalchemy import func, select

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.notification import NotificationChannel, NotificationRule
from models.settings import Settings
from tests.receivers import (
    SECRET,
    BotApi,
    Mailbox,
    bot_api_server,
    loopback_tls,
    smtp_server,
)

Headers = dict[Role, dict[str, str]]
CHANNELS = "/api/v1/notification-channels"
RULES = "/api/v1/notification-rules"
KEY = "a key for the tests"


@pytest.fixture
async def keyed(settings: Settings, seeded: SessionMaker) -> AsyncIterator[httpx.AsyncClient]:
    """The service with a key for channel secrets."""
    config = settings.model_copy(update={"notify_secret_key": SecretStr(KEY)})
    async with LifespanManager(create_app(config)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def webhook(url: str = "https://hooks.tinh.vn/bw", **extra: Any) -> dict[str, Any]:
    return {"name": "hook", "type": "webhook", "config": {"url": url}, "secret": SECRET, **extra}


async def count(sessionmaker: SessionMaker, table: type[Any]) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def test_a_channel_keeps_its_secret_encrypted_and_never_shows_it(
    keyed: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    admin = auth[Role.ADMIN]
    for role in (Role.VIEWER, Role.OPERATOR):
        assert (await keyed.post(CHANNELS, json=webhook(), headers=auth[role])).status_code == 403
    made = await keyed.post(CHANNELS, json=webhook(), headers=admin)
    assert made.status_code == 201, made.text
    channel = made.json()
    assert channel["has_secret"] is True and channel["config"] == {
        "url": "https://hooks.tinh.vn/bw"
    }
    listed = await keyed.get(CHANNELS, headers=admin)
    one = await keyed.get(f"{CHANNELS}/{channel['id']}", headers=admin)
    for response in (made, listed, one):
        assert SECRET not in response.text and SECRET.removeprefix("whsec_") not in response.text
    async with seeded() as session:
        stored = await session.get(NotificationChannel, channel["id"])
    assert stored is not None and stored.secret_encrypted and SECRET not in stored.secret_encrypted
    rule = await keyed.post(
        RULES,
        json={
            "name": "Thành phố",
            "channel_id": channel["id"],
            "site": "040",
            "remind_minutes": 15,
        },
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["site"] == "040" and rule.json()["statuses"] == ["down"]
    assert [r["id"] for r in (await keyed.get(RULES, headers=admin)).json()] == [rule.json()["id"]]
    off = await keyed.patch(f"{RULES}/{rule.json()['id']}", json={"enabled": False}, headers=admin)
    assert off.status_code == 200 and off.json()["enabled"] is False and off.json()["site"] == "040"
    off = await keyed.patch(f"{CHANNELS}/{channel['id']}", json={"enabled": False}, headers=admin)
    assert off.status_code == 200 and off.json()["enabled"] is False
    missing = await keyed.patch(f"{RULES}/999", json={"enabled": False}, headers=admin)
    assert missing.status_code == 404
    assert (await keyed.delete(f"{CHANNELS}/{channel['id']}", headers=admin)).status_code == 204
    assert await count(seeded, NotificationRule) == 0  # its rules went with it


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (webhook("ftp://hooks.tinh.vn/bw"), 422, "not an http(s) URL"),
        (webhook("http://127.0.0.1:8000/api/v1/sites"), 422, "points at this service"),
        (webhook("http://localhost:8000/hook"), 422, "points at this service"),
        ({"name": "x", "type": "pager", "config": {}}, 422, "type"),
        ({"name": "x", "type": "webhook", "config": {"url": "https://h.vn/"}}, 422, "needs"),
        (webhook(secret="not base64 !"), 422, "whsec_"),
        (webhook(secret_env="HOOK_SECRET"), 422, "not both"),
        (
            {"name": "t", "type": "telegram", "config": {"chat_id": "1", "token": "x"}},
            422,
            "config.token",
        ),
        (
            {"name": "m", "type": "email", "config": {"host": "smtp", "recipients": []}},
            422,
            "config.sender",
        ),
    ],
)
async def test_a_bad_channel_is_refused_and_nothing_saved(
    keyed: httpx.AsyncClient,
    auth: Headers,
    seeded: SessionMaker,
    body: dict[str, Any],
    status: int,
    detail: str,
) -> None:
    refused = await keyed.post(CHANNELS, json=body, headers=auth[Role.ADMIN])
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert detail in refused.json()["detail"]
    assert await count(seeded, NotificationChannel) == 0


async def test_without_a_key_a_secret_is_refused_but_one_in_the_environment_is_taken(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    admin = auth[Role.ADMIN]
    refused = await client.post(CHANNELS, json=webhook(), headers=admin)
    assert (
        refused.status_code == 422 and "BRIDGEWATCH_NOTIFY_SECRET_KEY" in refused.json()["detail"]
    )
    body = {**webhook(), "secret": None, "secret_env": "BW_HOOK_SECRET"}
    made = await client.post(CHANNELS, json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["has_secret"] is False and made.json()["secret_env"] == "BW_HOOK_SECRET"
    again = await client.post(CHANNELS, json=body, headers=admin)
    assert again.status_code == 409


async def test_a_rule_for_an_unknown_channel_site_or_conference_is_refused(
    keyed: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    admin = auth[Role.ADMIN]
    channel = (await keyed.post(CHANNELS, json=webhook(), headers=admin)).json()
    for body, detail in (
        ({"name": "r", "channel_id": channel["id"] + 1}, "no notification channel"),
        ({"name": "r", "channel_id": channel["id"], "site": "nowhere"}, "no site"),
        ({"name": "r", "channel_id": channel["id"], "conference_id": 999}, "no conference"),
        ({"name": "r", "channel_id": channel["id"], "statuses": ["up"]}, "statuses"),
        ({"name": "r", "channel_id": channel["id"], "remind_minutes": 0}, "remind_minutes"),
    ):
        refused = await keyed.post(RULES, json=body, headers=admin)
        assert refused.status_code == 422, refused.text
        assert detail in refused.json()["detail"]
    assert await count(seeded, NotificationRule) == 0


async def test_a_test_message_goes_through_telegram_and_says_why_when_it_cannot(
    keyed: httpx.AsyncClient, auth: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = auth[Role.ADMIN]
    monkeypatch.setenv("BW_BOT_TOKEN", "42:secret-bot-token")
    bot = BotApi()
    async with bot_api_server(bot) as base:
        body = {
            "name": "tinh-uy",
            "type": "telegram",
            "config": {"chat_id": "-100", "api_base_url": base},
            "secret_env": "BW_BOT_TOKEN",
        }
        channel = (await keyed.post(CHANNELS, json=body, headers=admin)).json()
        tried = await keyed.post(f"{CHANNELS}/{channel['id']}/test", headers=admin)
        assert tried.status_code == 200, tried.text
        assert tried.json()["delivered"] is True
    ((token, sent),) = bot.messages
    assert token == "42:secret-bot-token" and sent["chat_id"] == "-100"
    assert "tin nhắn thử" in sent["text"]
    # The receiver is gone: the error says so, without the token that is in the URL.
    failed = await keyed.post(f"{CHANNELS}/{channel['id']}/test", headers=admin)
    assert failed.json()["delivered"] is False
    assert failed.json()["error"].startswith("Bot API not reached")
    assert "secret-bot-token" not in failed.text


async def test_a_test_e_mail_arrives_with_its_vietnamese_intact(
    keyed: httpx.AsyncClient, auth: Headers
) -> None:
    admin = auth[Role.ADMIN]
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port:
        config = {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "sender": "bridgewatch@tinh.vn",
            "recipients": ["truc-ban@tinh.vn", "ky-thuat@tinh.vn"],
        }
        body = {"name": "thư", "type": "email", "config": config}
        channel = (await keyed.post(CHANNELS, json=body, headers=admin)).json()
        tried = await keyed.post(f"{CHANNELS}/{channel['id']}/test", headers=admin)
    assert tried.json() == {**tried.json(), "delivered": True, "error": None}
    (mail,) = mailbox.messages
    assert mail["Subject"] == "BridgeWatch: tin nhắn thử"
    assert (
        mail.get_content().strip() == "BridgeWatch: tin nhắn thử của kênh thư. Kênh hoạt động tốt."
    )
    assert mail["To"] == "truc-ban@tinh.vn, ky-thuat@tinh.vn"


async def test_metrics_count_messages_by_channel_type(
    client: httpx.AsyncClient,
) -> None:
    text = (await client.get("/metrics")).text
    for family in ("sent_total", "failed_total"):
        assert f'bridgewatch_notifications_{family}{{channel_type="webhook"}} 0.0' in text
    assert 'bridgewatch_notifications_pending{channel_type="email"} 0.0' in text


async def test_e_mail_goes_over_starttls_to_a_server_of_a_trusted_ca_only(
    keyed: httpx.AsyncClient, auth: Headers, tmp_path: Path
) -> None:
    admin = auth[Role.ADMIN]
    mailbox = Mailbox()
    context, ca_file = loopback_tls(tmp_path)
    async with smtp_server(mailbox, context) as port:
        config = {
            "host": "127.0.0.1",
            "port": port,
            "security": "starttls",
            "sender": "bridgewatch@tinh.vn",
            "recipients": ["truc-ban@tinh.vn"],
        }
        results = []
        for name, trusting in (("untrusting", {}), ("trusting", {"ca_file": str(ca_file)})):
            body = {"name": name, "type": "email", "config": {**config, **trusting}}
            channel = (await keyed.post(CHANNELS, json=body, headers=admin)).json()
            tried = await keyed.post(f"{CHANNELS}/{channel['id']}/test", headers=admin)
            results.append(tried.json())
    untrusted, trusted = results
    assert untrusted["delivered"] is False and "CERTIFICATE_VERIFY_FAILED" in untrusted["error"]
    assert trusted["delivered"] is True, trusted
    (mail,) = mailbox.messages
    assert "tin nhắn thử của kênh trusting" in mail.get_content()
