"""Incident: one down or degraded episode of a site, from opening to closing."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum
from models.site import SiteStatus


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_site_id_opened_at", "site_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    # The worst status seen during the episode: down outranks degraded.
    severity: Mapped[SiteStatus] = mapped_column(str_enum(SiteStatus, "severity"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    worst_rtt_seconds: Mapped[float | None]
    worst_jitter_seconds: Mapped[float | None]
    worst_loss_ratio: Mapped[float | None]
    worst_mos: Mapped[float | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    ack_note: Mapped[str | None] = mapped_column(Text)
