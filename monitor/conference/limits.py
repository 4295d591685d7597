"""The sites of live conferences and their stricter limits: while a conference is live, its
sites are judged by its thresholds where they are stricter than their own (a hall that tolerates
300 ms on a normal day may want 150 ms during the Party congress), and may get media checks more
often."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.conference import Conference, ConferencePhase, ConferenceSite
from models.thresholds import Thresholds, stricter
from monitor.conference.phases import phase_at, running_or_soon, schedule_of


async def live_limits(session: AsyncSession, now: datetime) -> dict[int, Thresholds]:
    """Each site taking part in a live conference -> the limits its live conferences set (the
    strictest of them, if several; none set, if none does)."""
    candidates = await session.scalars(select(Conference).where(running_or_soon(now)))
    live = {
        c.id: Thresholds.model_validate(c.thresholds or {})
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
