"""Conference bodies: Create (POST), Update (PATCH), Public (responses)."""

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.schemas.common import TIME_RANGE, Strict, Timestamp
from models.conference import ConferencePhase
from models.topology.fields import MULTI_LINE, ONE_LINE, SiteCode

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), ONE_LINE
]
Description = Annotated[str, StringConstraints(max_length=5000), MULTI_LINE]
WHEN = f"With its offset, e.g. 2026-12-01T08:00:00+07:00; {TIME_RANGE} in UTC."


class Participant(Strict):
    site_code: SiteCode
    expected_delegates: int = Field(0, ge=0, le=100_000)


def _check_schedule_and_sites(
    starts_at: datetime | None, ends_at: datetime | None, sites: list[Participant] | None
) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    codes = [p.site_code for p in sites or []]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"sites listed twice: {', '.join(duplicates)}")


class ConferenceCreate(Strict):
    title: Title
    description: Description = ""
    starts_at: Timestamp = Field(description=WHEN)
    ends_at: Timestamp = Field(description=WHEN)
    phase: ConferencePhase = ConferencePhase.PLANNED
    sites: list[Participant] = Field(default_factory=list, max_length=10_000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_schedule_and_sites(self.starts_at, self.ends_at, self.sites)
        return self


class ConferenceUpdate(Strict):
    """Only the fields given change; `sites`, when given, replaces the whole list."""

    title: Title | None = None
    description: Description | None = None
    starts_at: Timestamp | None = Field(None, description=WHEN)
    ends_at: Timestamp | None = Field(None, description=WHEN)
    phase: ConferencePhase | None = None
    sites: list[Participant] | None = Field(None, max_length=10_000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        _check_schedule_and_sites(self.starts_at, self.ends_at, self.sites)
        return self


class ParticipantPublic(BaseModel):
    site_code: str
    site_name: str
    expected_delegates: int


class ConferencePublic(BaseModel):
    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    phase: ConferencePhase
    expected_delegates: int = Field(description="Sum over the participating sites.")
    sites: list[ParticipantPublic]
    created_at: datetime
    updated_at: datetime


class StatusSeconds(BaseModel):
    up: float
    degraded: float
    down: float
    other: float = Field(description="Unknown or paused (maintenance): not observed as up/down.")


class ReportIncident(BaseModel):
    id: int
    severity: str
    opened_at: datetime
    closed_at: datetime | None
    seconds_in_window: float


class ReportSite(BaseModel):
    code: str
    name: str
    district_code: str | None
    seconds: StatusSeconds
    uptime_ratio: float | None = Field(description="Share of the window not down.")
    incidents: list[ReportIncident]
    worst_rtt_seconds: float | None
    worst_loss_ratio: float | None
    worst_mos: float | None
    expected_delegates: int
    attendance: int | None = Field(description="Delegates present, as last reported.")


class ReportTotals(BaseModel):
    sites: int
    seconds: StatusSeconds
    uptime_ratio: float | None = Field(description="Mean of the sites' uptime ratios.")
    incidents: int
    expected_delegates: int
    attendance: int
    sites_without_attendance: int


class ReportDistrict(BaseModel):
    code: str | None = Field(description="None: sites outside any district.")
    name: str | None
    totals: ReportTotals
    sites: list[ReportSite]


class ConferenceReport(BaseModel):
    conference_id: int
    title: str
    phase: ConferencePhase
    starts_at: datetime
    ends_at: datetime
    window_start: datetime
    window_end: datetime = Field(description="The end, or now while the conference runs.")
    complete: bool = Field(description="The conference has ended: the figures are final.")
    totals: ReportTotals
    districts: list[ReportDistrict] = Field(description="Most downtime first.")


class ReadinessSite(BaseModel):
    code: str
    name: str
    district_code: str | None
    district_name: str | None
    contact_name: str | None
    contact_phone: str | None
    expected_delegates: int
    status: str
    ready: bool
    reason: str = Field(description='Why not ready ("down: 3 heartbeats missed"), or "up".')
    since: datetime = Field(description="Since when the site has been ready, or not ready.")


class ReadinessCount(BaseModel):
    code: str | None = Field(description="The district (None: sites outside any district).")
    name: str | None
    ready: int
    total: int


class ConferenceReadiness(BaseModel):
    conference_id: int
    title: str
    phase: ConferencePhase
    starts_at: datetime
    at: datetime = Field(description="When this was judged.")
    ready_after_minutes: float = Field(description="Up for this long counts as ready.")
    ready: int
    total: int
    districts: list[ReadinessCount]
    sites: list[ReadinessSite] = Field(description="Not ready first, the longest so first.")
