"""Conference bodies: Create (POST), Update (PATCH), Public (responses)."""

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Self
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from app.schemas.checks import FullCheckPublic
from app.schemas.common import TIME_RANGE, Strict, Timestamp
from models.conference import DEFAULT_TIME_ZONE, ConferencePhase, PhaseAction
from models.thresholds import Thresholds
from models.topology.fields import MULTI_LINE, ONE_LINE, SiteCode

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), ONE_LINE
]
Description = Annotated[str, StringConstraints(max_length=5000), MULTI_LINE]
WHEN = f"With its offset, e.g. 2026-12-01T08:00:00+07:00; {TIME_RANGE} in UTC."
LIVE_LIMITS = (
    "Limits for `degraded` while live, applied where stricter than a site's own; "
    "in ConferenceUpdate, null is not allowed: send {} to clear them."
)
NO_PHASE = (
    "phase follows the schedule and cannot be set: start early, extend or end now with "
    "POST /api/v1/conferences/{id}/start, /extend or /end"
)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the zone files once


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"unknown time zone '{name}' (an IANA name, e.g. Asia/Ho_Chi_Minh)")
    return name


TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_zone),
    Field(description="IANA name; times are shown in it (stored in UTC)."),
]
PreflightMinutes = Annotated[
    int, Field(ge=0, le=24 * 60, description="Pre-flight opens this long before the start.")
]
ReadyMinutes = Annotated[
    int, Field(ge=1, le=120, description="A site up this long in pre-flight counts as ready.")
]


def _refuse_phase(data: Any) -> Any:
    if isinstance(data, dict) and "phase" in data:
        raise ValueError(NO_PHASE)
    return data


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
    time_zone: TimeZone = DEFAULT_TIME_ZONE
    preflight_minutes: PreflightMinutes = 60
    ready_minutes: ReadyMinutes = 5
    thresholds: Thresholds | None = Field(None, description=LIVE_LIMITS)
    sites: list[Participant] = Field(default_factory=list, max_length=10_000)

    _no_phase = model_validator(mode="before")(_refuse_phase)

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
    time_zone: TimeZone | None = None
    preflight_minutes: PreflightMinutes | None = None
    ready_minutes: ReadyMinutes | None = None
    thresholds: Thresholds | None = Field(None, description=LIVE_LIMITS)
    sites: list[Participant] | None = Field(None, max_length=10_000)

    _no_phase = model_validator(mode="before")(_refuse_phase)

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


class PhaseSwitch(BaseModel):
    phase: ConferencePhase
    at: datetime
    by: str = Field(description='"schedule" when the clock switched it, else the operator.')


class ActionPublic(BaseModel):
    action: PhaseAction
    at: datetime
    by: str
    minutes: int | None


class Extension(Strict):
    minutes: int = Field(ge=1, le=12 * 60, description="How much later the conference ends.")


class ConferencePublic(BaseModel):
    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime = Field(description="The planned end, extensions included.")
    time_zone: str
    preflight_minutes: int
    ready_minutes: int
    thresholds: Thresholds | None
    phase: ConferencePhase = Field(description="Now, from the schedule and operators' actions.")
    phases: list[PhaseSwitch] = Field(description="When each phase began or will begin.")
    actions: list[ActionPublic] = Field(description="Operators' starts, extensions and ends.")
    expected_delegates: int = Field(description="Sum over the participating sites.")
    sites: list[ParticipantPublic]
    created_at: datetime
    updated_at: datetime


class StatusSeconds(BaseModel):
    up: float
    degraded: float
    down: float
    maintenance: float = Field(
        description="In a maintenance window: planned, so not downtime, and left out of the "
        "uptime ratio."
    )
    other: float = Field(description="Unknown or paused (disabled): not observed as up/down.")


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
    uptime_ratio: float | None = Field(
        description="Share of the window not down, maintenance left out of the window."
    )
    incidents: list[ReportIncident]
    worst_rtt_seconds: float | None
    worst_loss_ratio: float | None
    worst_mos: float | None
    expected_delegates: int
    attendance: int | None = Field(description="Delegates present, as last reported.")
    ready_at_start: bool = Field(
        description="Ready when it went live, as the readiness board judged: up for the ready "
        "minutes and a full check passed since pre-flight opened."
    )


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
    full_check: FullCheckPublic | None = Field(
        description="Its last full check (one counts from the opening of pre-flight)."
    )


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
    ready_after_minutes: int = Field(description="Up for this long counts as ready.")
    ready: int
    total: int
    districts: list[ReadinessCount]
    sites: list[ReadinessSite] = Field(description="Not ready first, the longest so first.")
