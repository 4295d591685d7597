"""What the probe engine records: measurement samples and status changes of each site."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum
from models.site import SiteStatus


class Sample(Base):
    """One measurement window of one site."""

    __tablename__ = "sample"
    __table_args__ = (Index("ix_sample_site_id_at", "site_id", "at"),)

    # SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key for history.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    reachable: Mapped[bool]
    setup_seconds: Mapped[float | None]
    rtt_median_seconds: Mapped[float | None]
    rtt_p95_seconds: Mapped[float | None]
    jitter_seconds: Mapped[float | None]
    loss_ratio: Mapped[float | None]
    mos: Mapped[float | None]
    attendance: Mapped[int | None]
    error_class: Mapped[str | None] = mapped_column(String(64))
    # Optional media figures (bitrate, fps, freezes) and the agent's report (version, camera, mic).
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The path of the connection: the candidate types of the pair ICE selected, the monitor's
    # and the agent's ("host", "srflx", "prflx", "relay"); "relay" on either side is via TURN.
    local_candidate_type: Mapped[str | None] = mapped_column(String(16))
    remote_candidate_type: Mapped[str | None] = mapped_column(String(16))


class StatusChange(Base):
    __tablename__ = "status_change"
    __table_args__ = (Index("ix_status_change_site_id_at", "site_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    old_status: Mapped[SiteStatus] = mapped_column(str_enum(SiteStatus, "old_status"))
    new_status: Mapped[SiteStatus] = mapped_column(str_enum(SiteStatus, "new_status"))
    reason: Mapped[str] = mapped_column(String(200), default="")
