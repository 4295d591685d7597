"""/api/v1/maintenance: planned work at sites, during which they are probed as usual but read
`maintenance` instead of down, open no incident and count apart in conference reports."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import Row, Select, func, select

from app.deps import Operator, ProbeEngineDep, SessionDep, Viewer
from app.queries import site_or_404
from app.schemas.common import EVERY_ROUTE, Id, Offset, Page, problems
from app.schemas.maintenance import (
    MaintenanceCreate,
    MaintenancePublic,
    Occurrence,
    SiteMaintenance,
)
from models.base import utcnow
from models.maintenance import MaintenanceWindow
from models.site import Site
from monitor.maintenance.query import not_over, on_now, window_of, windows_of_site
from monitor.maintenance.store import InvalidWindowError, UnknownSiteError, plan
from monitor.maintenance.windows import Window, current, upcoming, window_of_parts

router = APIRouter(
    prefix="/maintenance", tags=["maintenance"], responses=problems(*EVERY_ROUTE, 422)
)
site_router = APIRouter(prefix="/sites", tags=["maintenance"], responses=problems(*EVERY_ROUTE))


def _with_site() -> Select[MaintenanceWindow, str, str]:
    return select(MaintenanceWindow, Site.code, Site.name).join(
        Site, Site.id == MaintenanceWindow.site_id
    )


def _public(row: MaintenanceWindow, code: str, name: str) -> MaintenancePublic:
    now = utcnow()
    window = window_of(row)
    following = upcoming(window, now)
    return MaintenancePublic(
        id=row.id,
        site_code=code,
        site_name=name,
        subtree=row.subtree,
        starts_at=row.starts_at,
        duration_seconds=row.duration_seconds,
        rrule=row.rrule,
        time_zone=row.time_zone,
        ends_at=row.ends_at,
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
        on_now=current(window, now) is not None,
        next=Occurrence(start=following.start, end=following.end) if following else None,
    )


@router.get("", summary="List maintenance windows, soonest first")
async def list_windows(
    session: SessionDep,
    _: Viewer,
    site: Annotated[
        str | None, Query(description="Only those made on this site (by code).")
    ] = None,
    past: Annotated[bool, Query(description="true: include the windows that are over.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[MaintenancePublic]:
    query = _with_site()
    if site is not None:
        query = query.where(Site.code == site)
    if not past:
        query = query.where(not_over(utcnow()))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
        .limit(limit)
        .offset(offset)
    )
    return Page[MaintenancePublic](items=[_public(*row) for row in rows], total=total or 0)


def _window(body: MaintenanceCreate) -> Window:
    duration = timedelta(minutes=body.duration_minutes) if body.duration_minutes else None
    return window_of_parts(body.starts_at, body.ends_at, body.rrule, duration, body.time_zone)


@router.post(
    "", status_code=201, summary="Plan maintenance at a site or subtree", responses=problems(403)
)
async def create_window(
    body: MaintenanceCreate,
    session: SessionDep,
    who: Operator,
    response: Response,
    probe_engine: ProbeEngineDep,
) -> MaintenancePublic:
    try:
        row, site = await plan(
            session,
            body.site,
            _window(body),
            subtree=body.subtree,
            note=body.note,
            by=who.name,
        )
    except (InvalidWindowError, UnknownSiteError) as exc:
        raise HTTPException(422, str(exc)) from exc
    await session.commit()
    response.headers["Location"] = f"/api/v1/maintenance/{row.id}"
    if probe_engine is not None:
        probe_engine.request_reload()  # a window on now applies at once, not at the next poll
    return _public(row, site.code, site.name)


async def _get(session: SessionDep, window_id: int) -> Row[MaintenanceWindow, str, str]:
    row = (await session.execute(_with_site().where(MaintenanceWindow.id == window_id))).first()
    if row is None:
        raise HTTPException(404, f"no maintenance window with id {window_id}")
    return row


@router.get("/{window_id}", summary="One maintenance window", responses=problems(404))
async def get_window(window_id: Id, session: SessionDep, _: Viewer) -> MaintenancePublic:
    return _public(*await _get(session, window_id))


@router.delete(
    "/{window_id}",
    status_code=204,
    summary="Cancel a maintenance window (its sites are judged again at once)",
    responses=problems(403, 404),
)
async def delete_window(
    window_id: Id, session: SessionDep, _: Operator, probe_engine: ProbeEngineDep
) -> None:
    row, _code, _name = await _get(session, window_id)
    await session.delete(row)
    await session.commit()
    if probe_engine is not None:
        probe_engine.request_reload()


@site_router.get(
    "/{code}/maintenance",
    summary="The maintenance windows that apply to a site, and whether it is in one now",
    responses=problems(404),
)
async def site_maintenance(code: str, session: SessionDep, _: Viewer) -> SiteMaintenance:
    site = await site_or_404(session, code)
    now = utcnow()
    rows = await windows_of_site(session, site, now)
    owners = await session.execute(
        select(Site.id, Site.code, Site.name).where(Site.id.in_({r.site_id for r in rows}))
    )
    named = {site_id: (code, name) for site_id, code, name in owners.all()}
    on = on_now(rows, now)
    return SiteMaintenance(
        site_code=site.code,
        in_maintenance=on is not None,
        until=on.until if on else None,
        note=on.note if on else None,
        windows=[_public(row, *named[row.site_id]) for row in rows],
    )
