"""The stricter limits of live conferences: while a conference that sets thresholds is live, its
sites are judged by them where they are stricter than their own (a hall that tolerates 300 ms
on a normal day may want 150 ms during the Party congress)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.conference import Conference, ConferencePhase, ConferenceSite
from models.thresholds import Thresholds, stricter
from monitor.conference.phases import phase_at, running_or_soon, schedule_of


async def live_limits(session: AsyncSession, now: datetime) -> dict[int, Thresholds]:
    """Site id -> the limits its live conferences set (the strictest of them, if several)."""
    candidates = await session.scalars(
        select(Conference).where(Conference.thresholds.is_not(None), running_or_soon(now))
    )
    live = {
        c.id: Thresholds.model_validate(c.thresholds)
        for c in candidates.all()
        if phase_at(schedule_of(c), now) is ConferencePhase.LIVE
    }
    if not live:
        return {}
    rows = await session.execute(
        select(ConferenceSite.conference_id, ConferenceSite.site_id).where(
            ConferenceSite.conference_id.in_(live)
        )
    )
    limits: dict[int, Thresholds] = {}
    for conference_id, site_id in rows.all():
        own = live[conference_id]
        limits[site_id] = stricter(limits[site_id], own) if site_id in limits else own
    return limits
