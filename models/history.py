"""What the probe engine records: measurement samples, status changes and full checks of each
site."""

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


class FullCheckResult(Base):
    """One full check of one site (monitor.probe.full_check): the site row keeps only its last,
    the conference report asks which one stood when the conference went live."""

    __tablename__ = "full_check"
    __table_args__ = (Index("ix_full_check_site_id_at", "site_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    passed: Mapped[bool]
    failed: Mapped[str] = mapped_column(String(200), default="")  # what failed, in words


class SampleRollup(Base):
    """One minute of one site's samples, summed up: the long history, kept for a year while the
    raw samples go after `sample_retention_days`. Always recomputed from the raw samples of its
    minute (monitor.probe.rollups), so writing one again gives the same row."""

    __tablename__ = "sample_rollup"
    # Rows are read and written by their key only: SQLite keeps them in the key's b-tree alone.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy's own form)

    site_id: Mapped[int] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(primary_key=True)  # its start, UTC
    windows: Mapped[int]  # samples in the minute
    reachable_windows: Mapped[int]  # of which the site answered: up ratio = this / windows
    rtt_median_seconds: Mapped[float | None]  # mean of the windows' medians
    rtt_p95_seconds: Mapped[float | None]  # the worst window's
    loss_ratio: Mapped[float | None]  # mean
    mos: Mapped[float | None]  # mean
    mos_min: Mapped[float | None]  # the worst window's
