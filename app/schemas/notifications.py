"""Notification channels, rules and messages as the API takes and shows them. A channel's secret
goes in, never out: the API says only whether there is one, or which variable holds it."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr

from app.schemas.common import MAX_ID, Strict
from models.notification import ChannelType, MessageState

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]
EnvName = Annotated[str, Field(max_length=100, pattern=r"^[A-Z_][A-Z0-9_]*$")]


class ChannelCreate(Strict):
    name: Name = Field(examples=["tinh-uy-telegram"])
    type: ChannelType
    config: dict[str, Any] = Field(
        description="email: host, port, security (starttls|tls|none), username, sender, "
        "recipients; webhook: url; telegram: chat_id, api_base_url (a local Bot API server on "
        "a closed network).",
        examples=[{"chat_id": "-1001234567890", "api_base_url": "https://api.telegram.org"}],
    )
    secret: SecretStr | None = Field(
        None,
        max_length=500,
        description="SMTP password, bot token or webhook secret (whsec_ + base64); stored "
        "encrypted, never shown again.",
    )
    secret_env: EnvName | None = Field(
        None, description="Or: the environment variable of the service that holds the secret."
    )


class Switch(Strict):
    enabled: bool = Field(description="false: kept, but no message goes out by it.")


class ChannelPublic(BaseModel):
    id: int
    name: str
    type: ChannelType
    config: dict[str, Any]
    has_secret: bool = Field(description="A secret is stored (encrypted); it is never shown.")
    secret_env: str | None
    enabled: bool
    created_at: datetime


class RuleCreate(Strict):
    name: Name = Field(examples=["Huyện Hòa An: mất kết nối"])
    channel_id: int = Field(ge=1, le=MAX_ID)
    statuses: list[Literal["down", "degraded"]] = Field(["down"], min_length=1, max_length=2)
    site: str | None = Field(
        None, max_length=32, description="A site's code: it and every site under it."
    )
    conference_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only the sites of this conference."
    )
    language: Literal["vi", "en"] = "vi"
    remind_minutes: int | None = Field(
        None,
        ge=1,
        le=24 * 60,
        description="Remind every this many minutes while a site stays down, not acknowledged.",
    )
    notify_resolved: bool = Field(True, description="Also say when the site is back.")


class RulePublic(BaseModel):
    id: int
    name: str
    channel_id: int
    statuses: list[str]
    site: str | None
    conference_id: int | None
    language: str
    remind_minutes: int | None
    notify_resolved: bool
    enabled: bool
    created_at: datetime


class TestResult(BaseModel):
    delivered: bool
    delivery_id: str
    error: str | None = Field(description="Why it was not delivered (no secret in it).")


class MessagePublic(BaseModel):
    id: int
    delivery_id: str = Field(description="The webhook-id; the same at every attempt.")
    channel_id: int
    rule_id: int | None
    subject: str
    state: MessageState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
