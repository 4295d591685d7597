"""Conference: a scheduled event, the sites that take part and the delegates each expects."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.site import Site


class ConferencePhase(StrEnum):
    PLANNED = "planned"
    PREFLIGHT = "preflight"
    LIVE = "live"
    ENDED = "ended"


class PhaseAction(StrEnum):
    START = "start"  # live now, before the planned start
    EXTEND = "extend"  # the end moves later
    END = "end"  # ended now, before the planned end


DEFAULT_TIME_ZONE = "Asia/Ho_Chi_Minh"


class Conference(Base):
    __tablename__ = "conference"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]  # extensions included
    # Shown in this zone (stored in UTC): the hall's, unless the conference says otherwise.
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    preflight_minutes: Mapped[int] = mapped_column(default=60)  # technicians on site by then
    ready_minutes: Mapped[int] = mapped_column(default=5)  # up this long: ready
    # Set when an operator started early or ended now; the phase follows from these and the
    # schedule (monitor/conference/phases.py), so no process has to switch it on time.
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # Limits for `degraded` while live, where stricter than a site's own (models.thresholds).
    thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    participants: Mapped[list["ConferenceSite"]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="ConferenceSite.site_id"
    )
    actions: Mapped[list["ConferenceAction"]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="ConferenceAction.id"
    )


class ConferenceSite(Base):
    __tablename__ = "conference_site"

    conference_id: Mapped[int] = mapped_column(
        ForeignKey("conference.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    expected_delegates: Mapped[int] = mapped_column(default=0)

    site: Mapped[Site] = relationship(lazy="raise")


class ConferenceAction(Base):
    """An operator's switch of the phase (start early, extend, end now): who and when."""

    __tablename__ = "conference_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(
        ForeignKey("conference.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[PhaseAction] = mapped_column(str_enum(PhaseAction, "phase_action"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    minutes: Mapped[int | None]  # of an extension
