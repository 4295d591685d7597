"""What each type of channel needs besides its secret, checked the same way for the API and the
command line."""

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from models.notification import ChannelType

Address = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmailConfig(_Config):
    type: Literal["email"] = "email"
    host: str = Field(min_length=1, max_length=253, examples=["smtp.tinh.vn"])
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="STARTTLS on a plain port (587), TLS from the start (465)."
    )
    username: str | None = Field(None, max_length=200)
    ca_file: str | None = Field(
        None,
        max_length=500,
        description="A PEM file of the CAs to trust instead of the system's (a closed "
        "network's own CA).",
    )
    sender: Address = Field(examples=["bridgewatch@tinh.vn"])
    recipients: list[Address] = Field(min_length=1, max_length=50)


class WebhookConfig(_Config):
    type: Literal["webhook"] = "webhook"
    url: str = Field(max_length=2000, examples=["https://hooks.tinh.vn/bridgewatch"])

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL with a host: {url!r}")
        return url


class TelegramConfig(_Config):
    type: Literal["telegram"] = "telegram"
    chat_id: str = Field(min_length=1, max_length=100, examples=["-1001234567890"])
    api_base_url: str = Field(
        "https://api.telegram.org",
        max_length=500,
        description="The Bot API's address; on a closed network, a local Bot API server's.",
    )

    @field_validator("api_base_url")
    @classmethod
    def _http(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL with a host: {url!r}")
        return url.rstrip("/")


ChannelConfig = EmailConfig | WebhookConfig | TelegramConfig
_configs = TypeAdapter[ChannelConfig](Annotated[ChannelConfig, Field(discriminator="type")])


def parse_config(kind: ChannelType, config: dict[str, Any]) -> ChannelConfig:
    """The stored or given config of a channel of `kind`; raises ValidationError."""
    return _configs.validate_python({**config, "type": str(kind)})


def points_at(url: str, own: list[str]) -> bool:
    """Whether `url` reaches this service itself (one of its own base URLs): a webhook there
    would feed the service its own messages."""
    target = urlsplit(url)
    for base in own:
        mine = urlsplit(base)
        if (_host(target.hostname), _port(target)) == (_host(mine.hostname), _port(mine)):
            return True
    return False


LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}  # noqa: S104 (names, not a bind)


def _host(name: str | None) -> str | None:
    """One name for this machine's loopback (a service on 0.0.0.0 answers on it too)."""
    return "localhost" if name in LOOPBACK else name


def _port(parts: Any) -> int:
    try:
        port: int | None = parts.port
    except ValueError:
        return -1
    return port or (443 if parts.scheme == "https" else 80)


__all__ = [
    "ChannelConfig",
    "EmailConfig",
    "TelegramConfig",
    "ValidationError",
    "WebhookConfig",
    "parse_config",
    "points_at",
]
