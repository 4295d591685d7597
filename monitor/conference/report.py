"""The report of one conference: per participating site, the time up / degraded / down within
the conference's window, the incidents that overlapped it, the worst figures measured in it and
the delegates present; totals per district and overall, the sites with the most downtime first.

The window is the live phase (an early start or end included). Live, the window ends now ("so
far"); before the start it is empty. Figures come from the
recorded status changes (`timeline`), so they are exact to the change, not to the window.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.conference import Conference, ConferencePhase
from models.history import FullCheckResult, Sample, StatusChange
from models.incident import Incident, IncidentKind
from models.site import SiteStatus
from monitor.conference.attendance import latest_present
from monitor.conference.participants import participants
from monitor.conference.phases import phase_at, schedule_of
from monitor.conference.readiness import FullCheck, SiteState, judge
from monitor.conference.timeline import Change, overlap_seconds, seconds_in_status


@dataclass(frozen=True)
class IncidentSpan:
    id: int
    severity: SiteStatus
    opened_at: datetime
    closed_at: datetime | None
    seconds_in_window: float


@dataclass(frozen=True)
class Worst:
    rtt_seconds: float | None = None
    loss_ratio: float | None = None
    mos: float | None = None


@dataclass(frozen=True)
class SiteReport:
    code: str
    name: str
    district_code: str | None
    expected_delegates: int
    seconds: dict[SiteStatus, float]
    incidents: list[IncidentSpan]
    worst: Worst
    attendance: int | None
    ready_at_start: bool  # ready as the readiness board judged it when the conference went live

    @property
    def uptime_ratio(self) -> float | None:
        """Share of the window not down (degraded counts as up: the site was in the session).
        Planned maintenance is left out of the window: neither up nor down, it does not count
        against the site, nor for it (a site in maintenance all the time has no ratio)."""
        total = sum(self.seconds.values()) - self.seconds[SiteStatus.MAINTENANCE]
        if total <= 0:
            return None
        return 1 - self.seconds[SiteStatus.DOWN] / total


@dataclass(frozen=True)
class Totals:
    sites: int
    seconds: dict[SiteStatus, float]
    uptime_ratio: float | None
    incidents: int
    expected_delegates: int
    attendance: int
    sites_without_attendance: int


@dataclass(frozen=True)
class DistrictReport:
    code: str | None  # None: sites outside any district (the province, the hub)
    name: str | None
    sites: list[SiteReport]
    totals: Totals


@dataclass(frozen=True)
class Report:
    conference: Conference
    phase: ConferencePhase
    window_start: datetime
    window_end: datetime
    complete: bool  # the conference has ended: the figures will not change
    districts: list[DistrictReport]
    totals: Totals


def totals_of(sites: Sequence[SiteReport]) -> Totals:
    seconds = {s: sum(site.seconds[s] for site in sites) for s in SiteStatus}
    ratios = [r for site in sites if (r := site.uptime_ratio) is not None]
    return Totals(
        sites=len(sites),
        seconds=seconds,
        uptime_ratio=sum(ratios) / len(ratios) if ratios else None,
        incidents=sum(len(site.incidents) for site in sites),
        expected_delegates=sum(site.expected_delegates for site in sites),
        attendance=sum(site.attendance or 0 for site in sites),
        sites_without_attendance=sum(site.attendance is None for site in sites),
    )


def group_by_district(
    sites: Sequence[SiteReport], names: dict[str | None, str | None]
) -> list[DistrictReport]:
    """Districts with the most downtime first, and within each the sites."""
    grouped: dict[str | None, list[SiteReport]] = {}
    for site in sites:
        grouped.setdefault(site.district_code, []).append(site)
    districts = [
        DistrictReport(
            code, names.get(code), sorted(members, key=_downtime_first), totals_of(members)
        )
        for code, members in grouped.items()
    ]
    return sorted(districts, key=lambda d: (-d.totals.seconds[SiteStatus.DOWN], d.code or "~"))


def _downtime_first(site: SiteReport) -> tuple[float, str]:
    return -site.seconds[SiteStatus.DOWN], site.code


async def build_report(session: AsyncSession, conference: Conference, now: datetime) -> Report:
    schedule = schedule_of(conference)
    start = schedule.live_from
    end = max(start, min(schedule.live_until, now))
    taking_part = await participants(session, conference.id)
    ids = [p.site.id for p in taking_part]
    before = await _status_before(session, ids, start)
    changes = await _changes(session, ids, start, end)
    incidents = await _incidents(session, ids, start, end)
    worst = await _worst(session, ids, start, end)
    present = await latest_present(session, ids, schedule.preflight_from, end)
    ready_after = timedelta(minutes=conference.ready_minutes)
    checks = await _checks_before(session, ids, start)
    sites, names = [], {}
    for p in taking_part:
        site = p.site
        own = changes.get(site.id, [])
        opening = before.get(site.id)
        initial = opening.new if opening else own[0][1] if own else site.status
        names[p.district_code] = p.district_name
        sites.append(
            SiteReport(
                code=site.code,
                name=site.name,
                district_code=p.district_code,
                expected_delegates=p.expected,
                seconds=seconds_in_status(initial, [c for c, _ in own], start, end),
                incidents=incidents.get(site.id, []),
                worst=worst.get(site.id, Worst()),
                attendance=present[site.id].present if site.id in present else None,
                ready_at_start=opening is not None
                and judge(
                    SiteState(opening.new, opening.at, "", None, True, checks.get(site.id)),
                    start,
                    schedule.preflight_from,
                    ready_after,
                ).ready,
            )
        )
    return Report(
        conference=conference,
        phase=phase_at(schedule, now),
        window_start=start,
        window_end=end,
        complete=now >= schedule.live_until,
        districts=group_by_district(sites, names),
        totals=totals_of(sites),
    )


async def _status_before(
    session: AsyncSession, ids: list[int], start: datetime
) -> dict[int, Change]:
    """Each site's status when the window opened, and since when: its last change before."""
    rows = await session.scalars(_last_before(StatusChange, ids, start))
    return {c.site_id: Change(c.at, c.new_status) for c in rows}


async def _checks_before(
    session: AsyncSession, ids: list[int], start: datetime
) -> dict[int, FullCheck]:
    """Each site's last full check when the window opened."""
    rows = await session.scalars(_last_before(FullCheckResult, ids, start))
    return {c.site_id: FullCheck(c.at, c.passed, c.failed) for c in rows}


def _last_before(
    table: type[StatusChange] | type[FullCheckResult], ids: list[int], start: datetime
) -> Select[Any]:
    """The rows of `table` (a site's history: site_id, at) last for each site at `start`."""
    last = (
        select(table.site_id, func.max(table.at).label("at"))
        .where(table.site_id.in_(ids), table.at <= start)
        .group_by(table.site_id)
        .subquery()
    )
    return select(table).join(last, and_(table.site_id == last.c.site_id, table.at == last.c.at))


async def _changes(
    session: AsyncSession, ids: list[int], start: datetime, end: datetime
) -> dict[int, list[tuple[Change, SiteStatus]]]:
    """The changes within the window, in order, each with the status it left."""
    rows = await session.execute(
        select(
            StatusChange.site_id, StatusChange.at, StatusChange.new_status, StatusChange.old_status
        )
        .where(StatusChange.site_id.in_(ids), StatusChange.at > start, StatusChange.at < end)
        .order_by(StatusChange.site_id, StatusChange.at, StatusChange.id)
    )
    found: dict[int, list[tuple[Change, SiteStatus]]] = {}
    for site_id, at, new, old in rows.all():
        found.setdefault(site_id, []).append((Change(at, new), old))
    return found


async def _incidents(
    session: AsyncSession, ids: list[int], start: datetime, end: datetime
) -> dict[int, list[IncidentSpan]]:
    rows = await session.scalars(
        select(Incident)
        .where(
            Incident.site_id.in_(ids),
            Incident.kind == IncidentKind.SITE,  # a group's is its children's, not the site's
            Incident.opened_at < end,
            or_(Incident.closed_at.is_(None), Incident.closed_at > start),
        )
        .order_by(Incident.opened_at, Incident.id)
    )
    found: dict[int, list[IncidentSpan]] = {}
    for incident in rows:
        span = IncidentSpan(
            incident.id,
            incident.severity,
            incident.opened_at,
            incident.closed_at,
            overlap_seconds(incident.opened_at, incident.closed_at, start, end),
        )
        found.setdefault(incident.site_id, []).append(span)
    return found


async def _worst(
    session: AsyncSession, ids: list[int], start: datetime, end: datetime
) -> dict[int, Worst]:
    rows = await session.execute(
        select(
            Sample.site_id,
            func.max(Sample.rtt_median_seconds),
            func.max(Sample.loss_ratio),
            func.min(Sample.mos),
        )
        .where(Sample.site_id.in_(ids), Sample.at > start, Sample.at <= end)
        .group_by(Sample.site_id)
    )
    return {site_id: Worst(rtt, loss, mos) for site_id, rtt, loss, mos in rows.all()}
