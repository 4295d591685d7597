"""Queries and public shapes of sites and incidents, shared by the REST routers and the live view.

Here rather than in a router: the live view (app/live_view.py) reads sites and incidents exactly
as the API shows them, and a router importing another router (or the live view importing one)
tied modules together that have nothing else in common.
"""

from typing import Any

from fastapi import HTTPException
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.schemas.checks import FullCheckPublic
from app.schemas.devices import room_devices
from app.schemas.incidents import IncidentPublic
from app.schemas.sites import SitePublic
from models.incident import Incident
from models.site import Site, SiteStatus
from monitor.probe.monitor_link import NOT_OBSERVABLE, observed

Parent = aliased(Site)  # a site's parent, for its code (and for filters on it)


def site_public(site: Site, parent_code: str | None, link_out: bool) -> SitePublic:
    """The site as staff are shown it, `link_out` whether the monitor's own link is out."""
    devices = room_devices(site.latest)
    check = None
    if site.full_check_at is not None:
        check = FullCheckPublic(
            at=site.full_check_at,
            passed=bool(site.full_check_passed),
            failed=site.full_check_failed,
        )
    fields = {**_columns(site), "parent_code": parent_code, "devices": devices, "full_check": check}
    return SitePublic.model_validate(as_observed(fields, link_out))


def as_observed(site: dict[str, Any], link_out: bool) -> dict[str, Any]:
    """A site's public fields with its status as shown (monitor/probe/monitor_link.py): while
    the monitor's own link is out, a site that reads down is of unknown status, not observable.
    """
    stored = SiteStatus(site["status"])
    shown = observed(stored, link_out)
    if shown == stored:
        return site
    return {**site, "status": shown, "status_reason": NOT_OBSERVABLE, "observable": False}


def _columns(site: Site) -> dict[str, Any]:
    return {column.key: getattr(site, column.key) for column in Site.__table__.columns}


async def site_or_404(session: AsyncSession, code: str) -> Site:
    """The site with `code`, or the API's 404 that names it."""
    site = await session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise HTTPException(404, f"no site with code '{code}'")
    return site


def sites_with_parent_code() -> Select[Site, str | None]:
    return select(Site, Parent.code).outerjoin(Parent, Site.parent_id == Parent.id)


def incident_public(incident: Incident, code: str, name: str) -> IncidentPublic:
    duration = None
    if incident.closed_at is not None:
        duration = (incident.closed_at - incident.opened_at).total_seconds()
    return IncidentPublic(
        id=incident.id,
        site_code=code,
        site_name=name,
        severity=incident.severity,
        opened_at=incident.opened_at,
        closed_at=incident.closed_at,
        duration_seconds=duration,
        worst_rtt_seconds=incident.worst_rtt_seconds,
        worst_jitter_seconds=incident.worst_jitter_seconds,
        worst_loss_ratio=incident.worst_loss_ratio,
        worst_mos=incident.worst_mos,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        ack_note=incident.ack_note,
        kind=incident.kind,
        cause=incident.cause,
        parent_incident_id=incident.parent_incident_id,
    )


def incidents_with_site() -> Select[Incident, str, str]:
    return select(Incident, Site.code, Site.name).join(Site, Incident.site_id == Site.id)
