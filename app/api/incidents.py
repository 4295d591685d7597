"""/api/v1/incidents: down and degraded episodes of sites (opened by the probe engine)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import Row, func, select

from app.deps import Operator, SessionDep, Viewer
from app.queries import incident_public, incidents_with_site
from app.schemas.common import EVERY_ROUTE, Id, Offset, Page, problems
from app.schemas.incidents import Acknowledge, IncidentPublic
from models.base import utcnow
from models.incident import Incident
from models.site import Site
from monitor.probe import incidents
from monitor.probe.events import IncidentChanged

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=problems(*EVERY_ROUTE, 422))


@router.get("", summary="List incidents, newest first")
async def list_incidents(
    session: SessionDep,
    _: Viewer,
    site: Annotated[str | None, Query(description="Only this site's (by code).")] = None,
    open: Annotated[bool | None, Query(description="true: still open; false: closed.")] = None,
    parent: Annotated[
        int | None,
        Query(ge=1, le=2**31 - 1, description="Only those folded under this group incident (id)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[IncidentPublic]:
    query = incidents_with_site()
    if site is not None:
        query = query.where(Site.code == site)
    if open is not None:
        query = query.where(
            Incident.closed_at.is_(None) if open else Incident.closed_at.is_not(None)
        )
    if parent is not None:
        query = query.where(Incident.parent_incident_id == parent)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit).offset(offset)
    )
    return Page[IncidentPublic](items=[incident_public(*row) for row in rows], total=total or 0)


async def _get(session: SessionDep, incident_id: int) -> Row[Incident, str, str]:
    row = (await session.execute(incidents_with_site().where(Incident.id == incident_id))).first()
    if row is None:
        raise HTTPException(404, f"no incident with id {incident_id}")
    return row


@router.get("/{incident_id}", summary="One incident", responses=problems(404))
async def get_incident(incident_id: Id, session: SessionDep, _: Viewer) -> IncidentPublic:
    return incident_public(*await _get(session, incident_id))


@router.post(
    "/{incident_id}/ack",
    summary="Acknowledge an incident, with a note",
    responses=problems(403, 404, 409),
)
async def acknowledge(
    incident_id: Id, body: Acknowledge, session: SessionDep, who: Operator, request: Request
) -> IncidentPublic:
    incident, code, name = await _get(session, incident_id)
    try:
        taken = incidents.acknowledge(
            incident.acknowledged_by,
            incident.acknowledged_at,
            who=who.name,
            note=body.note,
            now=utcnow(),
        )
    except incidents.AlreadyAcknowledgedError as exc:
        raise HTTPException(409, str(exc)) from exc
    incident.acknowledged_at = taken.at
    incident.acknowledged_by = taken.by
    incident.ack_note = taken.note
    await session.commit()
    request.state.bus.publish(IncidentChanged(incident.id, code, incidents.Notice.ACKNOWLEDGED))
    return incident_public(incident, code, name)
