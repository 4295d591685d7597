"""Re-checks on request: an operator asks for a full check of one site, or of every site of a
conference, now (pre-flight: "is it ready yet?" after a technician fixed something).

The request is written on each site (`full_check_requested_at`) and the process that probes the
site runs the check at once: this process's engine is told directly; scale-out workers hear of
it as they hear of any site edit (the `bridgewatch_sites` notification, migrations 0004 and
0011), and only the one holding the site's lease runs it. The outcome shows on the site and on
the readiness board.
"""

from datetime import datetime

from fastapi import APIRouter, HTTPException
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import Operator, ProbeEngineDep, SessionDep
from app.queries import site_or_404
from app.schemas.checks import RecheckRequested, SkippedSite
from app.schemas.common import EVERY_ROUTE, Id, problems
from models.base import utcnow
from models.conference import Conference
from models.site import ProbeMode, Site
from monitor.conference.participants import participants
from monitor.probe.engine import ProbeEngine

router = APIRouter(tags=["full checks"], responses=problems(*EVERY_ROUTE, 422))


def why_not_checkable(site: Site) -> str | None:
    """Why no process probes the site (so none can check it), or None."""
    if not site.enabled:
        return "disabled"
    if site.probe_mode is ProbeMode.NONE:
        return "not probed (probe mode none)"
    if site.probe_mode is ProbeMode.PULL and not site.probe_target:
        return "not probed (no agent address)"
    return None


async def _ask(
    session: AsyncSession, sites: list[Site], probe_engine: ProbeEngine | None
) -> datetime:
    at = utcnow()
    await session.execute(
        update(Site).where(Site.id.in_([s.id for s in sites])).values(full_check_requested_at=at)
    )
    await session.commit()
    if probe_engine is not None:  # on PostgreSQL the workers are told by the database
        probe_engine.request_reload()
    return at


@router.post(
    "/sites/{code}/recheck",
    status_code=202,
    summary="Run a full check of a site now (data channel, media check, camera and microphone)",
    responses=problems(403, 404, 409),
)
async def recheck_site(
    code: str, session: SessionDep, _: Operator, probe_engine: ProbeEngineDep
) -> RecheckRequested:
    site = await site_or_404(session, code)
    if (why := why_not_checkable(site)) is not None:
        raise HTTPException(409, f"site '{code}' cannot be checked: {why}")
    at = await _ask(session, [site], probe_engine)
    return RecheckRequested(requested_at=at, sites=[code])


@router.post(
    "/conferences/{conference_id}/recheck",
    status_code=202,
    summary="Run a full check of every site of a conference now",
    responses=problems(403, 404, 409),
)
async def recheck_conference(
    conference_id: Id, session: SessionDep, _: Operator, probe_engine: ProbeEngineDep
) -> RecheckRequested:
    if await session.get(Conference, conference_id) is None:
        raise HTTPException(404, f"no conference with id {conference_id}")
    sites = [p.site for p in await participants(session, conference_id)]
    skipped = [
        SkippedSite(code=site.code, reason=why)
        for site in sites
        if (why := why_not_checkable(site)) is not None
    ]
    checkable = [site for site in sites if why_not_checkable(site) is None]
    if not checkable:
        raise HTTPException(
            409,
            f"none of the conference's {len(sites)} sites can be checked (disabled or not probed)",
        )
    at = await _ask(session, checkable, probe_engine)
    return RecheckRequested(requested_at=at, sites=[s.code for s in checkable], skipped=skipped)
