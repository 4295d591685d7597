"""Agent credentials: one secret per site, and how each side proves itself to the other.

- Push (agent -> monitor): the agent sends its secret as a bearer token; the monitor keeps only
  its SHA-256 hash and accepts it for that one site.
- Pull (monitor -> agent): the monitor keeps `monitor_key = HMAC-SHA256(secret, "bridgewatch
  monitor key v1")`, from which the secret cannot be recovered, and sends a short-lived token
  `bwm1.<site>.<unix time>.<HMAC-SHA256(monitor_key, "<site>.<unix time>")>`. The agent derives
  the same key from its secret and checks the site, the time (within `MAX_SKEW_SECONDS`) and
  the MAC. A leaked database thus lets nobody speak for a site.
"""

import hashlib
import hmac
import time
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.auth import AgentCredential, hash_secret, new_secret
from models.site import Site

MAX_SKEW_SECONDS = 120
_KEY_LABEL = b"bridgewatch monitor key v1"


def monitor_key(secret: str) -> str:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).hexdigest()


def _mac(key: str, site_code: str, stamp: int) -> str:
    return hmac.new(key.encode(), f"{site_code}.{stamp}".encode(), hashlib.sha256).hexdigest()


def monitor_token(key: str, site_code: str, now: float | None = None) -> str:
    stamp = int(now if now is not None else time.time())
    return f"bwm1.{site_code}.{stamp}.{_mac(key, site_code, stamp)}"


def verify_monitor_token(secret: str, site_code: str, token: str, now: float | None = None) -> bool:
    # Split from the right: site codes may contain dots themselves.
    head, _, rest = token.partition(".")
    site, stamp_text, mac = [*rest.rsplit(".", 2), "", ""][:3]
    if head != "bwm1" or site != site_code or not (stamp_text.isascii() and stamp_text.isdigit()):
        return False
    stamp = int(stamp_text)
    if abs((now if now is not None else time.time()) - stamp) > MAX_SKEW_SECONDS:
        return False
    expected = _mac(monitor_key(secret), site_code, stamp)
    return hmac.compare_digest(mac.encode(), expected.encode())


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
