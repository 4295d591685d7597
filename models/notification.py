"""Notifications: channels (where messages go), rules (what goes where), the outbox of incident
changes written with them, the messages made of them and the reminders already sent."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow


class ChannelType(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    TELEGRAM = "telegram"


class ChangeKind(StrEnum):
    """What happened to an incident, as a notification tells it."""

    OPENED = "opened"
    ESCALATED = "escalated"  # a degraded episode went down
    RESOLVED = "resolved"
    REMINDER = "reminder"  # still down and nobody has taken it


class MessageState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after the bound of attempts; `last_error` says why


class NotificationChannel(Base):
    __tablename__ = "notification_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[ChannelType] = mapped_column(str_enum(ChannelType, "channel_type"))
    # What is not secret: URL, SMTP host and addresses, chat id, the Bot API's base URL.
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The secret (SMTP password, bot token, webhook secret) encrypted with the service's key, or
    # the name of the environment variable holding it; never both, never in clear.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    secret_env: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationRule(Base):
    __tablename__ = "notification_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channel.id", ondelete="CASCADE"), index=True
    )
    # The incident severities it is about: ["down"], ["down", "degraded"].
    statuses: Mapped[list[str]] = mapped_column(JSON)
    # A site and every site under it (None: all), and/or the sites of one conference.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    conference_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference.id", ondelete="CASCADE")
    )
    language: Mapped[str] = mapped_column(String(2), default="vi")
    remind_minutes: Mapped[int | None]  # None: no reminders
    notify_resolved: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationEvent(Base):
    """One incident change, written in the transaction that saved the incident (the outbox);
    `dispatched_at` is set when the dispatcher has made it into messages."""

    __tablename__ = "notification_event"
    __table_args__ = (Index("ix_notification_event_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    kind: Mapped[ChangeKind] = mapped_column(str_enum(ChangeKind, "change_kind"))
    severity: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    # Set only for a reminder: the one rule that asked for it.
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_rule.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]


class NotificationMessage(Base):
    """One message for one channel; `delivery_id` is fixed here, so every attempt at it carries
    the same id and a receiver can drop a repeat."""

    __tablename__ = "notification_message"
    __table_args__ = (Index("ix_notification_message_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channel.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_rule.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[MessageState] = mapped_column(
        str_enum(MessageState, "message_state"), default=MessageState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender that took the message holds it until then; one killed mid-delivery lets it go.
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class NotificationReminder(Base):
    """When a rule last reminded of an incident."""

    __tablename__ = "notification_reminder"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("notification_rule.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime]
