"""A conference's readiness board as the API gives it: per site, ready or not and why, with
its contact; counts per district and overall ("ready 169/171")."""

from datetime import datetime

from app.schemas.checks import FullCheckPublic
from app.schemas.conferences import ConferenceReadiness, ReadinessCount, ReadinessSite
from models.conference import Conference
from monitor.conference.phases import phase_at, schedule_of
from monitor.conference.readiness import FullCheck, SiteReadiness


def board(conference: Conference, sites: list[SiteReadiness], at: datetime) -> ConferenceReadiness:
    return ConferenceReadiness(
        conference_id=conference.id,
        title=conference.title,
        phase=phase_at(schedule_of(conference), at),
        starts_at=conference.starts_at,
        at=at,
        ready_after_minutes=conference.ready_minutes,
        ready=sum(s.verdict.ready for s in sites),
        total=len(sites),
        districts=_readiness_by_district(sites),
        sites=[_readiness_site(s) for s in sites],
    )


def _readiness_site(site: SiteReadiness) -> ReadinessSite:
    return ReadinessSite(
        code=site.code,
        name=site.name,
        district_code=site.district_code,
        district_name=site.district_name,
        contact_name=site.contact_name,
        contact_phone=site.contact_phone,
        expected_delegates=site.expected_delegates,
        status=site.status.value,
        ready=site.verdict.ready,
        reason=site.verdict.reason,
        since=site.verdict.since,
        full_check=_full_check(site.full_check),
    )


def _full_check(check: FullCheck | None) -> FullCheckPublic | None:
    if check is None:
        return None
    return FullCheckPublic(at=check.at, passed=check.passed, failed=check.failed)


def _readiness_by_district(sites: list[SiteReadiness]) -> list[ReadinessCount]:
    counts: dict[str | None, ReadinessCount] = {}
    for site in sites:
        count = counts.setdefault(
            site.district_code,
            ReadinessCount(code=site.district_code, name=site.district_name, ready=0, total=0),
        )
        count.total += 1
        count.ready += site.verdict.ready
    return sorted(counts.values(), key=lambda c: (c.ready - c.total, c.code or "~"))
