"""Agent links: a one-time code that lets a site's browser fetch its agent secret by itself.

The code travels in a link the operator hands out (`{public_url}/agent#enrol=bwe_...`); like
every other credential, only its SHA-256 hash is stored (`models.auth.hash_secret`).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

CODE_PREFIX = "bwe"  # "bwe_...": tells a leaked code from a token (bw_) or a secret (bws_)


class AgentEnrolment(Base):
    """One agent link of one site: live until used, withdrawn or expired."""

    __tablename__ = "agent_enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))  # the token's name, or "command line"
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Set when a newer link of the site replaced this one unused, or the site's agent was
    # revoked: the technician is told the link was withdrawn, not that it never existed.
    withdrawn_at: Mapped[datetime | None]
