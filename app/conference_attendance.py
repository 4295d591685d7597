"""A conference's attendance as the API gives it: per site the delegates present (and who said
so) against those expected; per district and overall; the sites that reported nothing."""

from app.schemas.attendance import AttendanceCount, ConferenceAttendance, SiteAttendance
from models.conference import ConferencePhase
from monitor.conference.attendance import SitePresence


def roll_up(
    conference_id: int, phase: ConferencePhase, sites: list[SitePresence]
) -> ConferenceAttendance:
    return ConferenceAttendance(
        conference_id=conference_id,
        phase=phase,
        present=sum(s.present.present for s in sites if s.present),
        expected_delegates=sum(s.expected for s in sites),
        sites=len(sites),
        sites_reported=sum(s.present is not None for s in sites),
        districts=_by_district(sites),
        sites_detail=[
            _site(s) for s in sorted(sites, key=lambda s: (s.present is not None, s.code))
        ],
    )


def _site(site: SitePresence) -> SiteAttendance:
    present = site.present
    return SiteAttendance(
        code=site.code,
        name=site.name,
        district_code=site.district_code,
        expected_delegates=site.expected,
        present=present.present if present else None,
        source=present.source if present else None,
        by=present.by if present else None,
        at=present.at if present else None,
    )


def _by_district(sites: list[SitePresence]) -> list[AttendanceCount]:
    counts: dict[str | None, AttendanceCount] = {}
    for site in sites:
        count = counts.setdefault(
            site.district_code,
            AttendanceCount(
                code=site.district_code,
                name=site.district_name,
                present=0,
                expected_delegates=0,
                sites=0,
                sites_reported=0,
            ),
        )
        count.sites += 1
        count.expected_delegates += site.expected
        if site.present:
            count.sites_reported += 1
            count.present += site.present.present
    return sorted(counts.values(), key=lambda c: c.code or "~")
