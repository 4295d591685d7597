"""Incident bodies."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.schemas.common import Strict
from models.incident import IncidentKind
from models.site import SiteStatus
from models.topology.fields import MULTI_LINE


class Acknowledge(Strict):
    note: Annotated[str, StringConstraints(max_length=2000), MULTI_LINE] = Field(
        "", description="What is being done, who was called; may run over lines."
    )


class IncidentPublic(BaseModel):
    id: int
    site_code: str
    site_name: str
    severity: SiteStatus
    opened_at: datetime
    closed_at: datetime | None
    duration_seconds: float | None = Field(description="None while the incident is open.")
    worst_rtt_seconds: float | None
    worst_jitter_seconds: float | None
    worst_loss_ratio: float | None
    worst_mos: float | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_note: str | None
    kind: IncidentKind = Field(
        description="site: the site's own episode; group: most of the site's children failed "
        "together, their incidents attached to this one (the cause is the site's link)."
    )
    cause: str | None = Field(
        description="What broke, in English: 'district link: 14 of 15 communes down'; None for "
        "a site's own incident."
    )
    parent_incident_id: int | None = Field(
        description="The group incident this one is folded under: recorded, not announced on "
        "its own. None when it stands alone (a straggler still down when its group closed too)."
    )
