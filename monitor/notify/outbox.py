"""The outbox: incident changes written in the transaction that saved the incident (so none is
lost, none made up by a rolled-back batch), and the messages waiting for a sender."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.incident import Incident
from models.notification import (
    ChangeKind,
    ChannelType,
    MessageState,
    NotificationChannel,
    NotificationEvent,
    NotificationMessage,
)


def record(session: AsyncSession, incident: Incident, kind: ChangeKind, at: datetime) -> None:
    """Queue the change with the incident's own write (flushed with it)."""
    session.add(
        NotificationEvent(
            incident_id=incident.id,
            site_id=incident.site_id,
            kind=kind,
            severity=str(incident.severity),
            at=at,
        )
    )


@dataclass(frozen=True)
class Claimed:
    """A message a sender holds until `until`, with what it needs to deliver it."""

    message_id: int
    delivery_id: str
    subject: str
    text: str
    payload: dict[str, Any]
    attempts: int
    until: datetime
    channel_name: str
    channel_type: ChannelType
    config: dict[str, Any]
    secret_encrypted: str | None
    secret_env: str | None


async def claim(session: AsyncSession, now: datetime, hold: timedelta) -> Claimed | None:
    """Take the next due message for `hold`. On PostgreSQL, senders in other processes skip the
    row while this transaction locks it, and the claim keeps them off it after the commit."""
    row = (
        await session.execute(
            select(NotificationMessage, NotificationChannel)
            .join(NotificationChannel, NotificationChannel.id == NotificationMessage.channel_id)
            .where(
                NotificationMessage.state == MessageState.PENDING,
                NotificationMessage.next_attempt_at <= now,
                or_(
                    NotificationMessage.claimed_until.is_(None),
                    NotificationMessage.claimed_until < now,
                ),
            )
            .order_by(NotificationMessage.next_attempt_at, NotificationMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=NotificationMessage)
        )
    ).first()
    if row is None:
        return None
    message, channel = row
    message.claimed_until = now + hold
    message.attempts += 1
    return Claimed(
        message.id,
        message.delivery_id,
        message.subject,
        message.text,
        message.payload,
        message.attempts,
        message.claimed_until,
        channel.name,
        channel.type,
        channel.config,
        channel.secret_encrypted,
        channel.secret_env,
    )


async def settle(session: AsyncSession, claimed: Claimed, values: dict[str, Any]) -> bool:
    """Write the outcome of a delivery, if the claim is still ours (not run out and taken)."""
    result = await session.execute(
        update(NotificationMessage)
        .where(
            and_(
                NotificationMessage.id == claimed.message_id,
                NotificationMessage.claimed_until == claimed.until,
            )
        )
        .values(claimed_until=None, **values)
    )
    return bool(getattr(result, "rowcount", 0))
