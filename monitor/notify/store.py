"""Channels and rules as operators make them (REST and the command line alike): checked before
anything is saved, secrets encrypted or left in the environment."""

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.conference import Conference
from models.notification import ChannelType, NotificationChannel, NotificationRule
from models.site import Site
from monitor.notify.channels.config import WebhookConfig, parse_config, points_at
from monitor.notify.channels.webhook import check_secret
from monitor.notify.secrets import SecretBox, SecretError

NEEDS_SECRET = {ChannelType.WEBHOOK: "a signing secret", ChannelType.TELEGRAM: "a bot token"}


class InvalidNotificationError(Exception):
    """Input that cannot be saved; the message says why (and never holds a secret)."""


class NameTakenError(Exception):
    pass


def _problems(exc: ValidationError, kind: ChannelType) -> str:
    """`config.port: ...`, without the type that picked the model (`config.email.port`)."""
    found = []
    for error in exc.errors():
        loc = error["loc"][1:] if error["loc"][:1] == (str(kind),) else error["loc"]
        found.append(f"config.{'.'.join(str(part) for part in loc)}: {error['msg']}")
    return "; ".join(found)


async def add_channel(
    session: AsyncSession,
    *,
    name: str,
    kind: ChannelType,
    config: dict[str, Any],
    secret: str | None,
    secret_env: str | None,
    box: SecretBox,
    own_urls: list[str],
) -> NotificationChannel:
    try:
        parsed = parse_config(kind, config)
    except ValidationError as exc:
        raise InvalidNotificationError(_problems(exc, kind)) from None
    if isinstance(parsed, WebhookConfig) and points_at(parsed.url, own_urls):
        raise InvalidNotificationError("the webhook URL points at this service itself")
    if secret and secret_env:
        raise InvalidNotificationError("give the secret or secret_env, not both")
    if kind in NEEDS_SECRET and not (secret or secret_env):
        raise InvalidNotificationError(f"a {kind} channel needs {NEEDS_SECRET[kind]}")
    if kind is ChannelType.WEBHOOK and secret:
        try:
            check_secret(secret)
        except ValueError as exc:
            raise InvalidNotificationError(str(exc)) from None
    if await session.scalar(select(NotificationChannel.id).where(NotificationChannel.name == name)):
        raise NameTakenError(f"a notification channel named {name!r} exists")
    try:
        encrypted = box.encrypt(secret) if secret else None
    except SecretError as exc:
        raise InvalidNotificationError(str(exc)) from None
    stored = parsed.model_dump(exclude={"type"})
    channel = NotificationChannel(
        name=name, type=kind, config=stored, secret_encrypted=encrypted, secret_env=secret_env
    )
    session.add(channel)
    await session.flush()
    return channel


async def add_rule(
    session: AsyncSession,
    *,
    name: str,
    channel_id: int,
    statuses: list[str],
    site_code: str | None,
    conference_id: int | None,
    language: str,
    remind_minutes: int | None,
    notify_resolved: bool,
) -> NotificationRule:
    if await session.get(NotificationChannel, channel_id) is None:
        raise InvalidNotificationError(f"no notification channel with id {channel_id}")
    site_id = None
    if site_code is not None:
        site_id = await session.scalar(select(Site.id).where(Site.code == site_code))
        if site_id is None:
            raise InvalidNotificationError(f"no site with code {site_code!r}")
    if conference_id is not None and await session.get(Conference, conference_id) is None:
        raise InvalidNotificationError(f"no conference with id {conference_id}")
    rule = NotificationRule(
        name=name,
        channel_id=channel_id,
        statuses=sorted(set(statuses)),
        site_id=site_id,
        conference_id=conference_id,
        language=language,
        remind_minutes=remind_minutes,
        notify_resolved=notify_resolved,
    )
    session.add(rule)
    await session.flush()
    return rule
