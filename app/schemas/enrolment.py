"""Agent links and enrolment: what an operator gets to hand out, what a site's browser gets back
for its one-time code, and what the agent page shows the technician."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import Strict
from models.site import SiteStatus
from models.topology.fields import SiteCode

IcePolicy = Annotated[
    Literal["all", "relay"],
    Field(
        description="The page's iceTransportPolicy (BRIDGEWATCH_ICE_TRANSPORT_POLICY): relay "
        "sends every site through the TURN server."
    ),
]
LinkHours = Annotated[
    int,
    Field(
        ge=1,
        le=720,
        description="How long the link stays valid, in hours (1 to 720); default: "
        "BRIDGEWATCH_ENROLMENT_HOURS (72).",
        examples=[72],
    ),
]


class AgentLinkCreate(Strict):
    expires_in_hours: LinkHours | None = None


class AgentLinksCreate(Strict):
    parent: SiteCode | None = Field(
        description="Links for every enabled, probed site of this site's subtree, the site "
        "included; null: of every site. Required, so that nobody replaces every site's links "
        "by leaving it out.",
    )
    expires_in_hours: LinkHours | None = None


class AgentLink(BaseModel):
    site_code: str
    site_name: str
    url: str = Field(
        description="{public_url}/agent#enrol={code}: opened once on the site's conference PC, "
        "it makes that browser the site's agent. Shown this once.",
        examples=["https://bw.tinh.vn/agent#enrol=bwe_..."],
    )
    expires_at: datetime
    qr_svg: str = Field(
        description="The url as a QR code: a standalone SVG document (viewBox only, no width "
        "or height: size it where it is shown)."
    )


class AgentLinks(BaseModel):
    items: list[AgentLink]


class EnrolRequest(Strict):
    code: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",  # printable ASCII, as every code is
        description="The code of the link, after `#enrol=`.",
        examples=["bwe_..."],
    )


class RtcIceServer(BaseModel):
    """As WebRTC's RTCIceServer: pass the list to `new RTCPeerConnection({iceServers})`."""

    urls: list[str]
    username: str | None = Field(None, description="Absent when the server needs none.")
    credential: str | None = Field(None, description="Absent when the server needs none.")


class AgentEnrolled(BaseModel):
    site_code: str
    site_name: str
    secret: str = Field(
        description="The site's new agent secret (bws_...), shown this once: the bearer "
        "credential of the agent's requests (docs/PROTOCOL.md). Any earlier one stops working."
    )
    ice_servers: list[RtcIceServer] = Field(
        description="The monitor's STUN/TURN servers, TURN with credentials made for this site "
        "now (fresh ones come in the Link headers of every answer and status)."
    )
    ice_transport_policy: IcePolicy


class AgentStatus(BaseModel):
    """What the agent page shows the technician about the site it speaks for."""

    site_code: str
    site_name: str
    status: SiteStatus
    status_since: datetime
    status_reason: str = Field(description="Why the status last changed, in English.")
    last_seen_at: datetime | None = Field(description="The last answered heartbeat.")
    latest: dict[str, Any] | None = Field(description="Figures of the last measured window.")
    monitor_time: datetime = Field(
        description="The monitor's clock now: the page can tell how old last_seen_at is."
    )
    ice_transport_policy: IcePolicy
