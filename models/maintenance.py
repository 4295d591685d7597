"""Maintenance window: planned work at a site or a subtree (a district with its communes),
once or recurring, during which the site is still probed but nobody is paged for it."""

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    # True: the site and every site under it (a district's communes) are in maintenance.
    subtree: Mapped[bool] = mapped_column(default=False)
    # A one-off window is its first (and only) occurrence: `starts_at` for `duration_seconds`.
    starts_at: Mapped[datetime]
    duration_seconds: Mapped[int]
    # RFC 5545 RRULE (without "RRULE:"), expanded from `starts_at` in `time_zone`'s wall clock, so
    # "every Sunday at 22:00" stays 22:00 local; None for a one-off window.
    rrule: Mapped[str | None] = mapped_column(String(500))
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    # When the last occurrence ends (None: the rule never ends), so the windows that can still
    # matter are found without expanding every rule ever made.
    ends_at: Mapped[datetime | None] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def duration(self) -> timedelta:
        return timedelta(seconds=self.duration_seconds)
