"""Credentials: API bearer tokens with roles and one agent secret per site; only hashes are kept."""

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def allows(self, needed: "Role") -> bool:
        """Roles are nested: an admin may do what an operator may, who may do what a viewer may."""
        order = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]
        return order.index(self) >= order.index(needed)


def new_secret(prefix: str) -> str:
    """A random 256-bit secret, URL-safe, with a prefix that tells what it is when it leaks."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    # The secrets are 256 random bits, so a fast hash is enough: there is nothing to brute-force,
    # and a slow KDF would put a CPU cost on every authenticated request.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown in listings so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def is_valid(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


class AgentCredential(Base):
    """The secret a site's agent presents; valid for that one site only."""

    __tablename__ = "agent_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Derived from the secret by a one-way HMAC: lets the monitor prove itself to the agent in
    # pull mode without keeping the secret (which it never stores). See docs/PROTOCOL.md.
    monitor_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def issue_token(
    session: AsyncSession, name: str, role: Role, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; the secret is returned this once and only its hash is stored."""
    secret = new_secret("bw")
    token = ApiToken(
        name=name,
        role=role,
        token_hash=hash_secret(secret),
        prefix=secret[:10],
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def find_token(session: AsyncSession, secret: str) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
