"""Maintenance window bodies."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.schemas.common import Strict, Timestamp
from models.topology.fields import MULTI_LINE, ONE_LINE, SiteCode
from monitor.maintenance.windows import MAX_DURATION

MAX_MINUTES = int(MAX_DURATION.total_seconds() // 60)


class MaintenanceCreate(Strict):
    """Once: `starts_at` and `ends_at`. Recurring: `starts_at` (the first occurrence), `rrule`
    and `duration_minutes`."""

    site: SiteCode
    subtree: bool = Field(
        False, description="Also every site under it (a district with its communes)."
    )
    starts_at: Timestamp = Field(examples=["2026-12-06T22:00:00+07:00"])
    ends_at: Timestamp | None = Field(None, description="The end of a one-off window.")
    rrule: Annotated[str, StringConstraints(min_length=1, max_length=500), ONE_LINE] | None = Field(
        None,
        description="An RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=SU`, expanded from "
        "`starts_at` in `time_zone`'s local time; FREQ hourly or coarser, UNTIL in UTC.",
        examples=["FREQ=WEEKLY;BYDAY=SU"],
    )
    duration_minutes: int | None = Field(
        None, ge=1, le=MAX_MINUTES, description="How long each occurrence of `rrule` lasts."
    )
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64), ONE_LINE] = Field(
        "Asia/Ho_Chi_Minh", description="IANA time zone in which the rule's times are read."
    )
    note: Annotated[str, StringConstraints(max_length=500), MULTI_LINE] = Field(
        "", description="What is being done; shown as the sites' status reason."
    )


class Occurrence(BaseModel):
    start: datetime
    end: datetime


class MaintenancePublic(BaseModel):
    id: int
    site_code: str
    site_name: str
    subtree: bool
    starts_at: datetime
    duration_seconds: int
    rrule: str | None
    time_zone: str
    ends_at: datetime | None = Field(description="When the last occurrence ends; None: never.")
    note: str
    created_by: str
    created_at: datetime
    on_now: bool
    next: Occurrence | None = Field(
        description="The occurrence on now, or else the next one; None once the window is over."
    )


class SiteMaintenance(BaseModel):
    site_code: str
    in_maintenance: bool
    until: datetime | None = Field(description="When the windows on now end (the last of them).")
    note: str | None = Field(description="The note of the window shown as the reason.")
    windows: list[MaintenancePublic] = Field(
        description="The windows not over that apply: the site's own and the subtree windows "
        "of the sites above it, soonest first."
    )
