"""/api/v1/sites: the bridge points, their hierarchy and current status."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import LiveViewDep, Operator, ProbeEngineDep, SessionDep, Viewer
from app.queries import Parent, site_public, sites_with_parent_code
from app.schemas.common import EVERY_ROUTE, TIME_RANGE, Offset, Page, Timestamp, problems
from app.schemas.sites import (
    MinutePublic,
    MonitorLinkPublic,
    Resolution,
    SampleList,
    SamplePublic,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    Summary,
)
from models.base import utcnow
from models.history import Sample, SampleRollup
from models.site import ProbeMode, Site, SiteLevel, SiteStatus
from models.text import search_key
from models.topology.hierarchy import find_cycle, load_parent_map
from monitor.probe.group_store import open_link_incident
from monitor.probe.monitor_link import observed

router = APIRouter(prefix="/sites", tags=["sites"], responses=problems(*EVERY_ROUTE, 422))
summary_router = APIRouter(tags=["sites"], responses=problems(*EVERY_ROUTE))
# Past this, `auto` reads minutes: a day of 10 s windows (8,640) is near the largest page.
LONG_RANGE = timedelta(days=1)
WHEN = f"With its offset, e.g. 2026-12-01T08:00:00+07:00; {TIME_RANGE} in UTC."


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@router.get("", summary="List sites, filtered")
async def list_sites(
    session: SessionDep,
    _: Viewer,
    level: SiteLevel | None = None,
    parent: Annotated[str | None, Query(description="Code of the parent site.")] = None,
    status: SiteStatus | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Name or code, accents optional.")
    ] = None,
    enabled: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Offset = 0,
) -> Page[SitePublic]:
    link_out = await _link_out(session)
    query = sites_with_parent_code()
    if level is not None:
        query = query.where(Site.level == level)
    if parent is not None:
        query = query.where(Parent.code == parent)
    if status is not None:  # as shown: while the monitor's link is out, down reads unknown
        query = query.where(
            Site.status.in_(s for s in SiteStatus if observed(s, link_out) == status)
        )
    if enabled is not None:
        query = query.where(Site.enabled == enabled)
    if q and (key := search_key(q)):
        query = query.where(Site.search_text.like(f"%{_escape_like(key)}%", escape="\\"))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(Site.code).limit(limit).offset(offset))
    items = [site_public(site, parent_code, link_out) for site, parent_code in rows]
    return Page[SitePublic](items=items, total=total or 0)


async def _link_out(session: AsyncSession) -> bool:
    """Whether the monitor's own link is out: its sites that read down are not observable."""
    return await open_link_incident(session) is not None


async def _get(session: AsyncSession, code: str) -> tuple[Site, str | None]:
    row = (await session.execute(sites_with_parent_code().where(Site.code == code))).first()
    if row is None:
        raise HTTPException(404, f"no site with code '{code}'")
    return row


@router.get("/{code}", summary="One site", responses=problems(404))
async def get_site(code: str, session: SessionDep, _: Viewer) -> SitePublic:
    return site_public(*await _get(session, code), await _link_out(session))


async def _parent_id(session: AsyncSession, parent_code: str | None) -> int | None:
    if parent_code is None:
        return None
    parent_id = await session.scalar(select(Site.id).where(Site.code == parent_code))
    if parent_id is None:
        raise HTTPException(422, f"parent site '{parent_code}' does not exist")
    return parent_id


def _plain_values(body: SiteCreate | SiteUpdate, fields: set[str]) -> dict[str, Any]:
    values = body.model_dump(include=fields - {"code", "parent_code"})
    if "thresholds" in values and values["thresholds"] is not None:
        values["thresholds"] = {k: v for k, v in values["thresholds"].items() if v is not None}
    return values


@router.post("", status_code=201, summary="Create a site", responses=problems(403, 409))
async def create_site(
    body: SiteCreate,
    session: SessionDep,
    _: Operator,
    response: Response,
    probe_engine: ProbeEngineDep,
    live: LiveViewDep,
) -> SitePublic:
    if await session.scalar(select(Site.id).where(Site.code == body.code)) is not None:
        raise HTTPException(409, f"a site with code '{body.code}' already exists")
    site = Site(code=body.code, parent_id=await _parent_id(session, body.parent_code))
    site.assign(_plain_values(body, set(SiteCreate.model_fields)))
    session.add(site)
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent create of the same code
        raise HTTPException(409, f"a site with code '{body.code}' already exists") from exc
    response.headers["Location"] = f"/api/v1/sites/{site.code}"
    if probe_engine is not None:
        probe_engine.request_reload()
    live.site_edited()  # the dashboard shows the edit without waiting for its periodic check
    return site_public(site, body.parent_code, await _link_out(session))


@router.patch("/{code}", summary="Change some fields of a site", responses=problems(403, 404))
async def update_site(
    code: str,
    body: SiteUpdate,
    session: SessionDep,
    _: Operator,
    probe_engine: ProbeEngineDep,
    live: LiveViewDep,
) -> SitePublic:
    site, parent_code = await _get(session, code)
    if "parent_code" in body.model_fields_set and body.parent_code != parent_code:
        site.parent_id = await _parent_id(session, body.parent_code)
        parents = await load_parent_map(session)
        parents[code] = body.parent_code
        if cycle := find_cycle(parents, code):
            raise HTTPException(422, f"that parent would make a cycle: {' -> '.join(cycle)}")
        parent_code = body.parent_code
    site.assign(_plain_values(body, body.model_fields_set))
    await session.commit()
    if probe_engine is not None:
        probe_engine.request_reload()
    live.site_edited()  # the dashboard shows the edit without waiting for its periodic check
    return site_public(site, parent_code, await _link_out(session))


@router.delete(
    "/{code}",
    status_code=204,
    summary="Delete a site and its history",
    responses=problems(403, 404, 409),
)
async def delete_site(
    code: str, session: SessionDep, _: Operator, probe_engine: ProbeEngineDep, live: LiveViewDep
) -> None:
    site, _parent = await _get(session, code)
    children = await session.scalar(
        select(func.count()).select_from(Site).where(Site.parent_id == site.id)
    )
    if children:
        raise HTTPException(409, f"site '{code}' has {children} child sites: move or delete them")
    await session.delete(site)
    await session.commit()
    if probe_engine is not None:
        probe_engine.request_reload()
    live.site_edited()  # the dashboard shows the edit without waiting for its periodic check


@router.get(
    "/{code}/samples",
    summary="Measurement windows of a site, newest first",
    responses=problems(404),
)
async def list_samples(
    code: str,
    session: SessionDep,
    _: Viewer,
    since: Annotated[
        Timestamp | None, Query(description=f"From this time (inclusive). {WHEN}")
    ] = None,
    until: Annotated[Timestamp | None, Query(description=f"Before this time. {WHEN}")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 360,
    resolution: Annotated[
        Resolution,
        Query(
            description="`window`: raw windows (kept `sample_retention_days`); `minute`: "
            "per-minute rollups (kept a year); `auto`: minutes when `since` is more than "
            f"{LONG_RANGE.days} day before `until` (or now), else windows."
        ),
    ] = Resolution.AUTO,
) -> SampleList:
    site, _parent = await _get(session, code)
    if resolution is Resolution.AUTO:
        end = until or utcnow()
        long = since is not None and end - since > LONG_RANGE
        resolution = Resolution.MINUTE if long else Resolution.WINDOW
    if resolution is Resolution.MINUTE:
        minutes = await _minutes(session, site.id, since, until, limit)
        return SampleList(site_code=code, resolution=resolution, items=[], minutes=minutes)
    query = select(Sample).where(Sample.site_id == site.id)
    if since is not None:
        query = query.where(Sample.at >= since)
    if until is not None:
        query = query.where(Sample.at < until)
    rows = await session.scalars(query.order_by(Sample.at.desc()).limit(limit))
    items = [SamplePublic.model_validate(r) for r in rows]
    return SampleList(site_code=code, resolution=resolution, items=items, minutes=[])


async def _minutes(
    session: AsyncSession,
    site_id: int,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[MinutePublic]:
    """The site's rollups whose minute starts within [since, until), newest first."""
    query = select(SampleRollup).where(SampleRollup.site_id == site_id)
    if since is not None:
        query = query.where(SampleRollup.minute >= since)
    if until is not None:
        query = query.where(SampleRollup.minute < until)
    rows = await session.scalars(query.order_by(SampleRollup.minute.desc()).limit(limit))
    return [
        MinutePublic(
            minute=r.minute,
            windows=r.windows,
            up_ratio=r.reachable_windows / r.windows,
            rtt_median_seconds=r.rtt_median_seconds,
            rtt_p95_seconds=r.rtt_p95_seconds,
            loss_ratio=r.loss_ratio,
            mos=r.mos,
            mos_min=r.mos_min,
        )
        for r in rows
    ]


@summary_router.get("/summary", summary="Counts of sites by status and by level")
async def summary(session: SessionDep, _: Viewer) -> Summary:
    not_probed = Site.probe_mode == ProbeMode.NONE
    status = case((not_probed, None), else_=Site.status)
    rows = await session.execute(
        select(Site.level, status, func.count()).group_by(Site.level, status)
    )
    link = await open_link_incident(session)
    by_level_status = {level: dict.fromkeys(SiteStatus, 0) for level in SiteLevel}
    by_level_not_probed = dict.fromkeys(SiteLevel, 0)
    not_observable = 0
    for level, site_status, count in rows:
        if site_status is None:
            by_level_not_probed[level] += count
            continue
        shown = observed(site_status, link is not None)
        by_level_status[level][shown] += count
        not_observable += count if shown != site_status else 0
    by_level = {
        level: sum(counts.values()) + by_level_not_probed[level]
        for level, counts in by_level_status.items()
    }
    return Summary(
        total=sum(by_level.values()),
        not_probed=sum(by_level_not_probed.values()),
        by_status={s: sum(c[s] for c in by_level_status.values()) for s in SiteStatus},
        by_level=by_level,
        by_level_status=by_level_status,
        by_level_not_probed=by_level_not_probed,
        monitor_link=None
        if link is None
        else MonitorLinkPublic(
            incident_id=link.id,
            since=link.opened_at,
            cause=link.cause or "",
            not_observable=not_observable,
        ),
    )
