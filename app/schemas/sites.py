"""Site bodies: Create (POST), Update (PATCH), Public (responses)."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.checks import FullCheckPublic
from app.schemas.common import Strict
from app.schemas.devices import RoomDevices
from models.site import ProbeMode, SiteLevel, SiteStatus
from models.thresholds import Thresholds
from models.topology.fields import (
    Latitude,
    Longitude,
    Name,
    Phone,
    ProbeTarget,
    SiteCode,
    SiteFields,
)


class SiteCreate(SiteFields):
    """Same fields and rules as a row of a topology file."""


class SiteUpdate(Strict):
    """Only the fields given change; `null` clears an optional field."""

    name: Name | None = None
    level: SiteLevel | None = None
    parent_code: SiteCode | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    probe_mode: ProbeMode | None = None
    probe_target: ProbeTarget | None = None
    thresholds: Thresholds | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> Self:
        for field in ("name", "level", "probe_mode", "enabled"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: SiteLevel
    parent_code: str | None
    status: SiteStatus
    status_since: datetime
    status_reason: str = Field(
        description="Why the status last changed, in English, e.g. '3 heartbeats missed' "
        "(docs/PROTOCOL.md lists the forms); empty when not known."
    )
    observable: bool = Field(
        True,
        description="False while the monitor's own link is out (the summary's `monitor_link`) "
        'for a site that reads down: it is then shown `unknown`, with the reason "not '
        "observable: the monitor's own link is down\", as it is not known to be down. Its "
        "incident and history still say down.",
    )
    lat: float | None
    lon: float | None
    contact_name: str | None
    contact_phone: str | None
    probe_mode: ProbeMode
    probe_target: str | None
    thresholds: Thresholds | None
    enabled: bool
    last_seen_at: datetime | None = Field(description="The last answered heartbeat.")
    latest: dict[str, Any] | None = Field(description="Figures of the last measured window.")
    devices: RoomDevices | None = Field(
        None,
        description="The room's camera and microphone as the site's agent last reported them "
        "(from `latest.report`); null when it says nothing of them or is not connected.",
    )
    full_check: FullCheckPublic | None = Field(
        None, description="Its last full check (POST /api/v1/sites/{code}/recheck asks for one)."
    )
    created_at: datetime
    updated_at: datetime


class SamplePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    reachable: bool
    setup_seconds: float | None
    rtt_median_seconds: float | None
    rtt_p95_seconds: float | None
    jitter_seconds: float | None
    loss_ratio: float | None
    mos: float | None
    attendance: int | None
    error_class: str | None
    report: dict[str, Any] | None
    media: dict[str, Any] | None = Field(
        description="Figures of a media check that ended in this window (test video)."
    )
    local_candidate_type: str | None = Field(
        None,
        description="The path of the connection: the type of the monitor's candidate in the "
        "pair ICE selected (host, srflx, prflx, relay); null while not connected.",
    )
    remote_candidate_type: str | None = Field(
        None,
        description="The type of the agent's candidate in that pair; relay on either side: "
        "the path goes through a TURN server.",
    )


class Resolution(StrEnum):
    AUTO = "auto"
    WINDOW = "window"
    MINUTE = "minute"


class MinutePublic(BaseModel):
    """One minute of a site's windows, summed up (kept for `rollup_retention_days`)."""

    model_config = ConfigDict(from_attributes=True)

    minute: datetime = Field(description="Its start (UTC).")
    windows: int = Field(description="Measurement windows in the minute.")
    up_ratio: float = Field(description="Share of those windows in which the site answered.")
    rtt_median_seconds: float | None = Field(description="Mean of the windows' median RTTs.")
    rtt_p95_seconds: float | None = Field(description="The worst window's 95th percentile RTT.")
    loss_ratio: float | None = Field(description="Mean heartbeat loss.")
    mos: float | None = Field(description="Mean estimated MOS.")
    mos_min: float | None = Field(description="The worst window's estimated MOS.")


class SampleList(BaseModel):
    site_code: str
    resolution: Literal[Resolution.WINDOW, Resolution.MINUTE] = Field(
        description="`window`: each measurement window in `items`; `minute`: one summed-up "
        "row per minute in `minutes` (long ranges, past the raw samples' retention)."
    )
    items: list[SamplePublic] = Field(description="The windows (resolution `window`).")
    minutes: list[MinutePublic] = Field(description="The minutes (resolution `minute`).")


class MonitorLinkPublic(BaseModel):
    """The monitor's own link, while it is down."""

    incident_id: int = Field(
        description="Its incident: GET /api/v1/incidents?parent=<id> lists the sites' own."
    )
    since: datetime
    cause: str = Field(
        description="e.g. \"monitor's link: 160 of 171 sites not observable (unreachable: "
        '10.0.0.1:443)".'
    )
    not_observable: int = Field(
        description="Probed sites that read down, counted `unknown` meanwhile (they are not "
        "known to be down)."
    )


class Summary(BaseModel):
    """Sites not probed by design (probe mode `none`, e.g. the hub, where the monitor runs) have
    no status to count: they are in `not_probed`, never in the status counts. So
    `total = not_probed + sum(by_status)`, and for each level
    `by_level[level] = by_level_not_probed[level] + sum(by_level_status[level])`."""

    total: int = Field(description="Every site, probed or not.")
    not_probed: int = Field(
        description="Sites not probed by design (probe mode 'none'), in no status count."
    )
    by_status: dict[SiteStatus, int] = Field(
        description="Probed sites (probe mode pull or push) by status; every status, zero "
        "included. `unknown`: not measured yet, or a pull site with no agent URL to dial."
    )
    by_level: dict[SiteLevel, int] = Field(
        description="Every site by level, probed or not; every level, zero included."
    )
    by_level_status: dict[SiteLevel, dict[SiteStatus, int]] = Field(
        description="Probed sites by level, then status; every level and status, zero included."
    )
    by_level_not_probed: dict[SiteLevel, int] = Field(
        description="Sites not probed by design, by level; every level, zero included."
    )
    monitor_link: MonitorLinkPublic | None = Field(
        description="Set while the monitor cannot reach its own reference targets "
        "(BRIDGEWATCH_MONITOR_LINK_REFERENCES) and sites across several districts fell "
        "together: the sites that read down are then not observable, and counted `unknown`. "
        "Null otherwise."
    )
