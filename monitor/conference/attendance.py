"""Delegates present per participating site: the latest value reported within the conference
(from the opening of pre-flight), whether its agent or an operator gave it; and the roll-up of a
conference per district and overall, against the delegates expected."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.attendance import Attendance, AttendanceSource
from models.conference import Conference
from monitor.conference.participants import participants
from monitor.conference.phases import schedule_of


@dataclass(frozen=True)
class Present:
    present: int
    source: AttendanceSource
    by: str
    at: datetime


async def latest_present(
    session: AsyncSession, site_ids: list[int] | None, since: datetime, until: datetime
) -> dict[int, Present]:
    """Each site's last value in [since, until] (of every site: `site_ids` None); a site that
    reported none is left out."""
    within = and_(Attendance.at >= since, Attendance.at <= until)
    if site_ids is not None:
        within = and_(within, Attendance.site_id.in_(site_ids))
    last = (
        select(Attendance.site_id, func.max(Attendance.id).label("id"))
        .where(within)
        .group_by(Attendance.site_id)
        .subquery()
    )
    rows = await session.scalars(select(Attendance).join(last, Attendance.id == last.c.id))
    return {row.site_id: Present(row.present, row.source, row.by, row.at) for row in rows}


@dataclass(frozen=True)
class SitePresence:
    code: str
    name: str
    district_code: str | None
    district_name: str | None
    expected: int
    present: Present | None


async def roll_call(
    session: AsyncSession, conference: Conference, now: datetime
) -> list[SitePresence]:
    """Each participating site with what it reported in this conference so far."""
    schedule = schedule_of(conference)
    taking_part = await participants(session, conference.id)
    until = min(now, schedule.live_until)
    found = await latest_present(
        session, [p.site.id for p in taking_part], schedule.preflight_from, until
    )
    return [
        SitePresence(
            p.site.code,
            p.site.name,
            p.district_code,
            p.district_name,
            p.expected,
            found.get(p.site.id),
        )
        for p in taking_part
    ]
