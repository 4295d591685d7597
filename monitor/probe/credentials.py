"""The monitor's store of agent secrets: issued once, kept as a hash (push) and as the derived
monitor key (pull, `monitor.wire.tokens`); never the secret itself."""

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.auth import AgentCredential, hash_secret, new_secret
from models.site import Site
from monitor.wire.tokens import monitor_key


async def issue_agent_secret(session: AsyncSession, site: Site) -> str:
    """Create or rotate the site's secret (the old one stops working); returned this once."""
    secret = new_secret("bws")
    credential = await session.scalar(
        select(AgentCredential).where(AgentCredential.site_id == site.id)
    )
    if credential is None:
        credential = AgentCredential(site_id=site.id)
        session.add(credential)
    credential.secret_hash = hash_secret(secret)
    credential.monitor_key = monitor_key(secret)
    await session.flush()
    return secret


class AgentCheck(StrEnum):
    OK = "ok"
    UNKNOWN_SECRET = "unknown_secret"  # noqa: S105 (a result name, not a secret); 401: not a secret we know at all
    OTHER_SITE = "other_site"  # 403: a valid secret, but of another site


async def check_agent_secret(session: AsyncSession, site_id: int | None, secret: str) -> AgentCheck:
    owner = await session.scalar(
        select(AgentCredential.site_id).where(AgentCredential.secret_hash == hash_secret(secret))
    )
    if owner is None:
        return AgentCheck.UNKNOWN_SECRET
    return AgentCheck.OK if owner == site_id else AgentCheck.OTHER_SITE
