"""A conference's report as the API gives it: JSON, or CSV for Excel (UTF-8 with a byte-order
mark, or Excel reads the Vietnamese names as mojibake)."""

import csv
import io

from app.schemas.conferences import (
    ConferenceReport,
    ReportDistrict,
    ReportIncident,
    ReportSite,
    ReportTotals,
    StatusSeconds,
)
from models.site import SiteStatus
from monitor.conference.report import Report, SiteReport, Totals

CSV_COLUMNS = (
    "district_code",
    "district_name",
    "site_code",
    "site_name",
    "seconds_up",
    "seconds_degraded",
    "seconds_down",
    "seconds_maintenance",
    "seconds_other",
    "uptime_ratio",
    "incidents",
    "worst_rtt_ms",
    "worst_loss_percent",
    "worst_mos",
    "expected_delegates",
    "attendance",
    "ready_at_start",
)


def _seconds(spent: dict[SiteStatus, float]) -> StatusSeconds:
    return StatusSeconds(
        up=round(spent[SiteStatus.UP], 3),
        degraded=round(spent[SiteStatus.DEGRADED], 3),
        down=round(spent[SiteStatus.DOWN], 3),
        maintenance=round(spent[SiteStatus.MAINTENANCE], 3),
        other=round(spent[SiteStatus.UNKNOWN] + spent[SiteStatus.PAUSED], 3),
    )


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def _totals(totals: Totals) -> ReportTotals:
    return ReportTotals(
        sites=totals.sites,
        seconds=_seconds(totals.seconds),
        uptime_ratio=_ratio(totals.uptime_ratio),
        incidents=totals.incidents,
        expected_delegates=totals.expected_delegates,
        attendance=totals.attendance,
        sites_without_attendance=totals.sites_without_attendance,
    )


def _site(site: SiteReport) -> ReportSite:
    return ReportSite(
        code=site.code,
        name=site.name,
        district_code=site.district_code,
        seconds=_seconds(site.seconds),
        uptime_ratio=_ratio(site.uptime_ratio),
        incidents=[
            ReportIncident(
                id=i.id,
                severity=i.severity.value,
                opened_at=i.opened_at,
                closed_at=i.closed_at,
                seconds_in_window=round(i.seconds_in_window, 3),
            )
            for i in site.incidents
        ],
        worst_rtt_seconds=site.worst.rtt_seconds,
        worst_loss_ratio=site.worst.loss_ratio,
        worst_mos=site.worst.mos,
        expected_delegates=site.expected_delegates,
        attendance=site.attendance,
        ready_at_start=site.ready_at_start,
    )


def public(report: Report) -> ConferenceReport:
    conference = report.conference
    return ConferenceReport(
        conference_id=conference.id,
        title=conference.title,
        phase=report.phase,
        starts_at=conference.starts_at,
        ends_at=conference.ends_at,
        window_start=report.window_start,
        window_end=report.window_end,
        complete=report.complete,
        totals=_totals(report.totals),
        districts=[
            ReportDistrict(
                code=d.code,
                name=d.name,
                totals=_totals(d.totals),
                sites=[_site(s) for s in d.sites],
            )
            for d in report.districts
        ],
    )


def as_csv(report: ConferenceReport) -> str:
    """One row per site, districts with the most downtime first, as the JSON orders them."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for district in report.districts:
        for site in district.sites:
            writer.writerow(_row(district, site))
    return out.getvalue()


def _row(district: ReportDistrict, site: ReportSite) -> list[object]:
    def scaled(value: float | None, factor: float, digits: int) -> object:
        return "" if value is None else round(value * factor, digits)

    return [
        district.code or "",
        district.name or "",
        site.code,
        site.name,
        site.seconds.up,
        site.seconds.degraded,
        site.seconds.down,
        site.seconds.maintenance,
        site.seconds.other,
        scaled(site.uptime_ratio, 1, 5),
        len(site.incidents),
        scaled(site.worst_rtt_seconds, 1000, 1),
        scaled(site.worst_loss_ratio, 100, 2),
        "" if site.worst_mos is None else site.worst_mos,
        site.expected_delegates,
        "" if site.attendance is None else site.attendance,
        "yes" if site.ready_at_start else "no",
    ]
