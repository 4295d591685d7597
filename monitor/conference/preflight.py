"""The sites of conferences in pre-flight now, each with when its pre-flight opened: the engine
gives them a full check without anyone asking (readiness wants one passed since then)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.conference import Conference, ConferencePhase, ConferenceSite
from monitor.conference.phases import phase_at, running_or_soon, schedule_of


async def preflight_sites(session: AsyncSession, now: datetime) -> dict[int, datetime]:
    """Site id -> when the pre-flight it takes part in opened (the earliest, if several)."""
    candidates = await session.scalars(select(Conference).where(running_or_soon(now)))
    opened = {
        c.id: schedule_of(c).preflight_from
        for c in candidates.all()
        if phase_at(schedule_of(c), now) is ConferencePhase.PREFLIGHT
    }
    if not opened:
        return {}
    rows = await session.execute(
        select(ConferenceSite.conference_id, ConferenceSite.site_id).where(
            ConferenceSite.conference_id.in_(opened)
        )
    )
    sites: dict[int, datetime] = {}
    for conference_id, site_id in rows.all():
        at = opened[conference_id]
        sites[site_id] = min(sites[site_id], at) if site_id in sites else at
    return sites
