"""Scale-out's tables (PostgreSQL only): the monitor workers, and which of them probes which site.

Each worker keeps a `monitor_worker` row fresh and holds a `site_lease` per site it probes; the
queries that claim, renew and release leases are `monitor.scaleout.queries`.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class MonitorWorker(Base):
    __tablename__ = "monitor_worker"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Where the API process forwards the push offers of this worker's sites.
    url: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(index=True)


class SiteLease(Base):
    __tablename__ = "site_lease"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[str] = mapped_column(String(100), index=True)
    expires_at: Mapped[datetime]
