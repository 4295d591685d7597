"""Conference: a scheduled event, the sites that take part and the delegates each expects."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.site import Site


class ConferencePhase(StrEnum):
    PLANNED = "planned"
    PREFLIGHT = "preflight"
    LIVE = "live"
    ENDED = "ended"


class Conference(Base):
    __tablename__ = "conference"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    phase: Mapped[ConferencePhase] = mapped_column(
        str_enum(ConferencePhase, "conference_phase"), default=ConferencePhase.PLANNED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    participants: Mapped[list["ConferenceSite"]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="ConferenceSite.site_id"
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
