"""Site: one bridge point (điểm cầu) of the conference network, and its current status."""

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, String, case, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.text import search_key


class SiteLevel(StrEnum):
    HUB = "hub"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class ProbeMode(StrEnum):
    NONE = "none"  # not probed (usually the hub, where the monitor itself runs)
    PULL = "pull"  # the monitor dials the agent's signaling URL
    PUSH = "push"  # the agent dials the monitor (sites behind NAT)


class SiteStatus(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    PAUSED = "paused"
    # Probed as usual, inside a maintenance window: nobody is paged, and its time is not downtime.
    MAINTENANCE = "maintenance"


PAUSED_REASON = "disabled (maintenance)"


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[SiteLevel] = mapped_column(str_enum(SiteLevel, "site_level"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="RESTRICT"), index=True
    )
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    probe_mode: Mapped[ProbeMode] = mapped_column(
        str_enum(ProbeMode, "probe_mode"), default=ProbeMode.PULL
    )
    probe_target: Mapped[str | None] = mapped_column(String(500))
    thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Name and code without diacritics, lower-case: lets "hoa an" find "Hòa An" on any database.
    search_text: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[SiteStatus] = mapped_column(
        str_enum(SiteStatus, "site_status"), default=SiteStatus.UNKNOWN, index=True
    )
    status_since: Mapped[datetime] = mapped_column(default=utcnow)
    # Why the status last changed ("3 heartbeats missed"), so a dashboard opened later, or an
    # organiser's script, can say why a site is down, not only that it is.
    status_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Kept current by the probe engine's recorder: the last answered heartbeat and the figures
    # of the last window, so any process (API, scale-out workers) can show them.
    last_seen_at: Mapped[datetime | None]
    latest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The outcome of its last full check (data channel, a short media check where the agent can
    # do one, camera and microphone where its agent reports them), which readiness counts; and
    # when an operator last asked for one (the site-edits notification carries it to workers).
    full_check_at: Mapped[datetime | None]
    full_check_passed: Mapped[bool | None]
    full_check_failed: Mapped[str] = mapped_column(String(200), default="", server_default="")
    full_check_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped["Site | None"] = relationship(remote_side=[id], lazy="raise")

    def assign(self, values: Mapping[str, Any]) -> bool:
        """Set plain fields (not the parent) from `values`; return whether anything changed."""
        changed = False
        for field, value in values.items():
            if getattr(self, field) != value:
                setattr(self, field, value)
                changed = True
        self.search_text = search_key(f"{self.code} {self.name}")
        if "enabled" in values:
            self._pause_or_resume()
        return changed

    def _pause_or_resume(self) -> None:
        # A disabled site is in maintenance: nobody should be paged for it.
        if not self.enabled and self.status is not SiteStatus.PAUSED:
            self.set_status(SiteStatus.PAUSED, PAUSED_REASON)
        elif self.enabled and self.status is SiteStatus.PAUSED:
            self.set_status(SiteStatus.UNKNOWN)

    def set_status(self, status: SiteStatus, reason: str = "") -> None:
        self.status = status
        self.status_since = utcnow()
        self.status_reason = reason


def probed() -> ColumnElement[bool]:
    """The sites the probe engine watches: enabled, and either dialled (pull with a target) or
    dialling in (push)."""
    return Site.enabled.is_(True) & or_(
        Site.probe_mode == ProbeMode.PUSH,
        (Site.probe_mode == ProbeMode.PULL) & Site.probe_target.is_not(None),
    )


def group_of(site: Any) -> ColumnElement[int | None]:
    """The id of the site's group on a board or in a report (`site` is `Site` or an alias):
    a commune's parent (its district; its province on the 2025 map, which has no districts),
    a district or province itself; the hub none."""
    return case(
        (site.level == SiteLevel.COMMUNE, site.parent_id),
        (site.level.in_([SiteLevel.DISTRICT, SiteLevel.PROVINCE]), site.id),
        else_=None,
    )
