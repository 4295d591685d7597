"""Incident: one down or degraded episode of a site, from opening to closing; or one of a group
of sites that failed together, with their own incidents attached to it."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum
from models.site import SiteStatus


class IncidentKind(StrEnum):
    SITE = "site"  # the site's own episode
    GROUP = "group"  # most of the site's children failed together: its link, not theirs
    # The monitor lost its own link (its reference targets unreachable too): on the hub, every
    # site's incident attached to it, the sites not observable rather than down.
    MONITOR_LINK = "monitor_link"


# At most one open group (or monitor link) incident per site, however many workers decide.
ONE_OPEN_GROUP = text("closed_at IS NULL AND kind <> 'site'")


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_site_id_opened_at", "site_id", "opened_at"),
        Index(
            "uq_incident_open_group",
            "site_id",
            "kind",
            unique=True,
            postgresql_where=ONE_OPEN_GROUP,
            sqlite_where=ONE_OPEN_GROUP,
        ),
    )

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
    kind: Mapped[IncidentKind] = mapped_column(
        str_enum(IncidentKind, "incident_kind"), default=IncidentKind.SITE, server_default="site"
    )
    # What broke, in words: "district link: 14 of 15 communes down"; None for a site's own.
    cause: Mapped[str | None] = mapped_column(Text)
    # The group incident this one is folded under; its children are not announced on their own.
    parent_incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )
