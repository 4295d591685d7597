"""Attendance bodies: an operator's entry, a site's latest value, a conference's roll-up."""

from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas.common import Strict
from models.attendance import MAX_DELEGATES, AttendanceSource
from models.conference import ConferencePhase


class AttendanceEntry(Strict):
    present: int = Field(ge=0, le=MAX_DELEGATES, description="Delegates present in the room.")


class AttendancePublic(BaseModel):
    site_code: str
    present: int
    source: AttendanceSource = Field(description="Who gave it: the site's agent or an operator.")
    by: str = Field(description="The agent's version, or the operator's token name.")
    at: datetime


class SiteAttendance(BaseModel):
    code: str
    name: str
    district_code: str | None
    expected_delegates: int
    present: int | None = Field(description="None: nothing reported in this conference yet.")
    source: AttendanceSource | None
    by: str | None
    at: datetime | None


class AttendanceCount(BaseModel):
    code: str | None = Field(description="The district; None: sites outside any district.")
    name: str | None
    present: int
    expected_delegates: int
    sites: int
    sites_reported: int


class ConferenceAttendance(BaseModel):
    conference_id: int
    phase: ConferencePhase
    present: int
    expected_delegates: int
    sites: int
    sites_reported: int
    districts: list[AttendanceCount]
    sites_detail: list[SiteAttendance] = Field(
        description="Sites that reported nothing first, then by code."
    )
